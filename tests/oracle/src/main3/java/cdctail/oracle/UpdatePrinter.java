package cdctail.oracle;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import org.apache.cassandra.config.CFMetaData;
import org.apache.cassandra.config.ColumnDefinition;
import org.apache.cassandra.db.ClusteringPrefix;
import org.apache.cassandra.db.DeletionTime;
import org.apache.cassandra.db.LivenessInfo;
import org.apache.cassandra.db.Mutation;
import org.apache.cassandra.db.UnknownColumnFamilyException;
import org.apache.cassandra.db.commitlog.CommitLogDescriptor;
import org.apache.cassandra.db.context.CounterContext;
import org.apache.cassandra.db.marshal.AbstractType;
import org.apache.cassandra.db.marshal.CollectionType;
import org.apache.cassandra.db.marshal.CompositeType;
import org.apache.cassandra.db.marshal.SetType;
import org.apache.cassandra.db.marshal.UserType;
import org.apache.cassandra.db.partitions.PartitionUpdate;
import org.apache.cassandra.db.rows.Cell;
import org.apache.cassandra.db.rows.CellPath;
import org.apache.cassandra.db.rows.ColumnData;
import org.apache.cassandra.db.rows.ComplexColumnData;
import org.apache.cassandra.db.rows.RangeTombstoneBoundMarker;
import org.apache.cassandra.db.rows.RangeTombstoneBoundaryMarker;
import org.apache.cassandra.db.rows.RangeTombstoneMarker;
import org.apache.cassandra.db.rows.Row;
import org.apache.cassandra.db.rows.SerializationHelper;
import org.apache.cassandra.db.rows.Unfiltered;
import org.apache.cassandra.db.rows.UnfilteredRowIterator;
import org.apache.cassandra.io.util.DataInputBuffer;
import org.apache.cassandra.transport.ProtocolVersion;
import org.apache.cassandra.utils.ByteBufferUtil;

/**
 * --mode mutations for Cassandra 3.x: Mutation.serializer at the segment's
 * messaging version with Flag.LOCAL, then PartitionUpdate.validate(), as 3.x's
 * CommitLogReader.readMutation does; each partition update printed in the
 * canonical text of docs/oracle.md (the same as src/main/java's).
 */
final class UpdatePrinter
{
    private final PrintStream out;
    private final boolean cql;
    private final StringBuilder sb = new StringBuilder(256);
    private final Set<String> traced = new HashSet<>();

    UpdatePrinter(PrintStream out, boolean cql)
    {
        this.out = out;
        this.cql = cql;
    }

    void printMutation(byte[] buf, int size, CommitLogDescriptor desc)
    {
        Mutation mutation;
        List<UUID> order = new ArrayList<>();
        try (DataInputBuffer in = new DataInputBuffer(buf, 0, size))
        {
            mutation = Mutation.serializer.deserialize(in, desc.getMessagingVersion(), SerializationHelper.Flag.LOCAL);
            for (PartitionUpdate u : mutation.getPartitionUpdates())
                u.validate();
            order.addAll(serializedOrder(mutation, buf, size, desc));
        }
        catch (UnknownColumnFamilyException e)
        {
            out.println("  unknown-table " + e.cfId);
            return;
        }
        catch (Throwable t)
        {
            out.println("  decode-error \"" + Text.oneLine(String.valueOf(t)).replace('"', '\'') + "\"");
            if (traced.add(t.getClass().getName()))
            {
                System.err.println("oracle: first " + t.getClass().getName() + " deserializing a mutation:");
                t.printStackTrace();
            }
            return;
        }
        for (UUID id : order)
        {
            try
            {
                printUpdate(mutation.getPartitionUpdate(id));
            }
            catch (RuntimeException e)
            {
                out.println("  decode-error \"printing: " + Text.oneLine(String.valueOf(e)).replace('"', '\'') + "\"");
            }
        }
    }

    /**
     * 3.x's Mutation keeps its updates in a HashMap by table id, so
     * getPartitionUpdates() is not in serialized order. The table ids in the
     * order the body has them (first occurrence): the body's updates read
     * again with PartitionUpdate.serializer, as Mutation.serializer reads them.
     */
    private static Set<UUID> serializedOrder(Mutation m, byte[] buf, int size, CommitLogDescriptor desc) throws Exception
    {
        Set<UUID> ids = new LinkedHashSet<>();
        if (m.getPartitionUpdates().size() == 1)
        {
            ids.add(m.getPartitionUpdates().iterator().next().metadata().cfId);
            return ids;
        }
        try (DataInputBuffer in = new DataInputBuffer(buf, 0, size))
        {
            int n = (int) in.readUnsignedVInt();
            for (int i = 0; i < n; i++)
                ids.add(PartitionUpdate.serializer.deserialize(in, desc.getMessagingVersion(), SerializationHelper.Flag.LOCAL, (ByteBuffer) null).metadata().cfId);
        }
        return ids;
    }

    private void printUpdate(PartitionUpdate u)
    {
        CFMetaData md = u.metadata();
        sb.setLength(0);
        sb.append("  update ").append(md.ksName).append('.').append(md.cfName)
          .append(" cdc=").append(md.params.cdc ? 1 : 0).append(" key=");
        ByteBuffer key = u.partitionKey().getKey();
        List<ColumnDefinition> pk = md.partitionKeyColumns();
        if (pk.size() > 1)
        {
            ByteBuffer[] parts = ((CompositeType) md.getKeyValidator()).split(key);
            for (int i = 0; i < parts.length; i++)
            {
                if (i > 0)
                    sb.append(':');
                value(pk.get(i).type, parts[i]);
            }
        }
        else
        {
            value(pk.get(0).type, key);
        }
        out.println(sb);

        List<RangeTombstoneMarker> markers = new ArrayList<>();
        try (UnfilteredRowIterator it = u.unfilteredIterator())
        {
            DeletionTime pd = it.partitionLevelDeletion();
            if (!pd.isLive())
            {
                sb.setLength(0);
                sb.append("    partition");
                deletion("deletion", pd);
                out.println(sb);
            }
            Row st = it.staticRow();
            if (st != null && !st.isEmpty())
                printRow(md, st);
            while (it.hasNext())
            {
                Unfiltered un = it.next();
                if (un.isRow())
                    printRow(md, (Row) un);
                else
                    markers.add((RangeTombstoneMarker) un);
            }
        }
        for (RangeTombstoneMarker m : markers)
        {
            sb.setLength(0);
            sb.append("    marker ").append(m.clustering().kind().name()).append(' ');
            clustering(md, m.clustering());
            if (m.isBoundary())
            {
                RangeTombstoneBoundaryMarker b = (RangeTombstoneBoundaryMarker) m;
                deletion("deletion", b.endDeletionTime());
                deletion("start_deletion", b.startDeletionTime());
            }
            else
            {
                deletion("deletion", ((RangeTombstoneBoundMarker) m).deletionTime());
            }
            out.println(sb);
        }
    }

    private void printRow(CFMetaData md, Row row)
    {
        sb.setLength(0);
        sb.append("    row ");
        if (row.isStatic())
            sb.append("static");
        else
            clustering(md, row.clustering());
        LivenessInfo li = row.primaryKeyLivenessInfo();
        if (!li.isEmpty())
        {
            sb.append(" liveness ts=").append(li.timestamp());
            if (li.isExpiring())
                sb.append(" ttl=").append(li.ttl()).append(" expires=").append((long) li.localExpirationTime());
        }
        Row.Deletion d = row.deletion();
        if (!d.isLive())
            deletion(d.isShadowable() ? "shadowable_deletion" : "deletion", d.time());
        out.println(sb);

        // Complex deletions first, then cells, each in the row's column order.
        for (ColumnData cd : row)
        {
            if (cd.column().isComplex())
            {
                DeletionTime cdel = ((ComplexColumnData) cd).complexDeletion();
                if (!cdel.isLive())
                {
                    sb.setLength(0);
                    sb.append("      complex_deletion ").append(cd.column().name.toString());
                    deletion("", cdel);
                    out.println(sb);
                }
            }
        }
        for (ColumnData cd : row)
        {
            if (cd.column().isComplex())
            {
                for (Cell c : (ComplexColumnData) cd)
                    printCell(c);
            }
            else
            {
                printCell((Cell) cd);
            }
        }
    }

    private void printCell(Cell c)
    {
        ColumnDefinition col = c.column();
        sb.setLength(0);
        sb.append("      cell ").append(col.name.toString()).append(" ts=").append(c.timestamp());
        if (c.isExpiring())
            sb.append(" ttl=").append(c.ttl()).append(" expires=").append((long) c.localDeletionTime());
        if (c.isTombstone())
            sb.append(" deleted ldt=").append((long) c.localDeletionTime());
        AbstractType<?> valueType = col.type;
        CellPath path = c.path();
        if (path != null)
        {
            ByteBuffer p = path.get(0);
            sb.append(" path=");
            if (col.type instanceof UserType)
            {
                // a non-frozen UDT's cell: the path is the field's index (a short)
                UserType ut = (UserType) col.type;
                int field = ByteBufferUtil.toShort(p.duplicate());
                if (cql)
                    sb.append(field >= 0 && field < ut.size() ? ut.fieldNameAsString(field) : "?" + field);
                else
                    sb.append(ByteBufferUtil.bytesToHex(p));
                valueType = field >= 0 && field < ut.size() ? ut.fieldType(field) : null;
            }
            else if (col.type instanceof CollectionType)
            {
                CollectionType<?> ct = (CollectionType<?>) col.type;
                value(ct.nameComparator(), p);
                valueType = ct.valueComparator();
            }
            else
            {
                sb.append(ByteBufferUtil.bytesToHex(p));
                valueType = null;
            }
        }
        sb.append(" value=");
        if (!cql)
            value(valueType, c.value());
        else if (col.type.isCounter() && !c.isTombstone())
            sb.append(CounterContext.instance().total(c.value())); // a local update's delta
        else if (!c.isTombstone() && !(path != null && col.type instanceof SetType))
            value(valueType, c.value());
        // (--values cql renders nothing for a tombstone or a set element)
        out.println(sb);
    }

    private void clustering(CFMetaData md, ClusteringPrefix cl)
    {
        sb.append('(');
        for (int i = 0; i < cl.size(); i++)
        {
            if (i > 0)
                sb.append(',');
            ByteBuffer v = cl.get(i);
            if (v == null)
                sb.append("null");
            else
                value(i < md.clusteringColumns().size() ? md.clusteringColumns().get(i).type : null, v);
        }
        sb.append(')');
    }

    private void deletion(String what, DeletionTime d)
    {
        if (!what.isEmpty())
            sb.append(' ').append(what);
        sb.append(" ts=").append(d.markedForDeleteAt()).append(" ldt=").append((long) d.localDeletionTime());
    }

    /** A CQL literal on one line: \\ doubled, control characters escaped. */
    private void escape(String lit)
    {
        for (int i = 0; i < lit.length(); i++)
        {
            char ch = lit.charAt(i);
            if (ch == '\\')
                sb.append("\\\\");
            else if (ch == '\n')
                sb.append("\\n");
            else if (ch == '\r')
                sb.append("\\r");
            else if (ch == '\t')
                sb.append("\\t");
            else if (ch < 0x20 || ch == 0x7f)
                sb.append(String.format("\\u%04x", (int) ch));
            else
                sb.append(ch);
        }
    }

    /** A value: hex, or with --values cql its CQL literal (hex when the type is unknown). */
    private void value(AbstractType<?> type, ByteBuffer v)
    {
        if (v == null)
        {
            sb.append("null");
            return;
        }
        if (!cql || type == null)
        {
            sb.append(ByteBufferUtil.bytesToHex(v));
            return;
        }
        try
        {
            escape(type.asCQL3Type().toCQLLiteral(v.duplicate(), ProtocolVersion.CURRENT));
        }
        catch (Exception | AssertionError e)
        {
            sb.append("!unrenderable:").append(ByteBufferUtil.bytesToHex(v));
        }
    }
}
