package cdctail.oracle;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.apache.cassandra.db.ClusteringPrefix;
import org.apache.cassandra.db.DeletionTime;
import org.apache.cassandra.db.LivenessInfo;
import org.apache.cassandra.db.Mutation;
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
import org.apache.cassandra.db.rows.DeserializationHelper;
import org.apache.cassandra.db.rows.RangeTombstoneBoundMarker;
import org.apache.cassandra.db.rows.RangeTombstoneBoundaryMarker;
import org.apache.cassandra.db.rows.RangeTombstoneMarker;
import org.apache.cassandra.db.rows.Row;
import org.apache.cassandra.db.rows.Unfiltered;
import org.apache.cassandra.db.rows.UnfilteredRowIterator;
import org.apache.cassandra.exceptions.UnknownTableException;
import org.apache.cassandra.io.util.DataInputBuffer;
import org.apache.cassandra.schema.ColumnMetadata;
import org.apache.cassandra.schema.TableMetadata;
import org.apache.cassandra.utils.ByteBufferUtil;

/**
 * --mode mutations: lets Cassandra deserialize an entry body
 * (Mutation.serializer at the segment's messaging version, Flag.LOCAL, then
 * PartitionUpdate.validate(), as CommitLogReader.readMutation does) and prints
 * each partition update canonically, one line per item (docs/oracle.md):
 *
 *   update KS.TABLE cdc=0|1 key=V[:V...]
 *   partition deletion ts=T ldt=S
 *   row static|(V,...) [liveness ts=T [ttl=N expires=S]] [deletion|shadowable_deletion ts=T ldt=S]
 *   complex_deletion COL ts=T ldt=S
 *   cell COL ts=T [ttl=N expires=S] [deleted ldt=S] [path=V] value=V
 *   marker KIND (V,...) deletion ts=T ldt=S [start_deletion ts=T ldt=S]
 *   unknown-table UUID
 *   decode-error "MESSAGE"
 *
 * V is lowercase hex (or, with --values cql, the CQL literal Cassandra's
 * CQL3Type.toCQLLiteral gives); null prints null.
 */
final class UpdatePrinter
{
    private final PrintStream out;
    private final boolean cql;
    private final StringBuilder sb = new StringBuilder(256);
    private final java.util.Set<String> traced = new java.util.HashSet<>();

    UpdatePrinter(PrintStream out, boolean cql)
    {
        this.out = out;
        this.cql = cql;
    }

    void printMutation(byte[] buf, int size, CommitLogDescriptor desc)
    {
        Mutation mutation;
        try (DataInputBuffer in = new DataInputBuffer(buf, 0, size))
        {
            mutation = Mutation.serializer.deserialize(in, desc.getMessagingVersion(), DeserializationHelper.Flag.LOCAL);
            for (PartitionUpdate u : mutation.getPartitionUpdates())
                u.validate();
        }
        catch (UnknownTableException e)
        {
            out.println("  unknown-table " + e.id);
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
        for (PartitionUpdate u : mutation.getPartitionUpdates())
        {
            try
            {
                printUpdate(u);
            }
            catch (RuntimeException e)
            {
                out.println("  decode-error \"printing: " + Text.oneLine(String.valueOf(e)).replace('"', '\'') + "\"");
            }
        }
    }

    private void printUpdate(PartitionUpdate u)
    {
        TableMetadata md = u.metadata();
        sb.setLength(0);
        sb.append("  update ").append(md.keyspace).append('.').append(md.name)
          .append(" cdc=").append(md.params.cdc ? 1 : 0).append(" key=");
        ByteBuffer key = u.partitionKey().getKey();
        List<ColumnMetadata> pk = md.partitionKeyColumns();
        if (pk.size() > 1)
        {
            ByteBuffer[] parts = ((CompositeType) md.partitionKeyType).split(key);
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

    private void printRow(TableMetadata md, Row row)
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

        // All of the row's complex deletions first, then its cells, each in
        // the row's column order (simple columns, then complex ones, by name).
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
                for (Cell<?> c : (ComplexColumnData) cd)
                    printCell(c);
            }
            else
            {
                printCell((Cell<?>) cd);
            }
        }
    }

    private void printCell(Cell<?> c)
    {
        ColumnMetadata col = c.column();
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
            value(valueType, c.buffer());
        else if (col.type.isCounter() && !c.isTombstone())
            sb.append(CounterContext.instance().total(c)); // a counter context: its total (a local update's delta)
        else if (!c.isTombstone() && !(path != null && col.type instanceof SetType))
            value(valueType, c.buffer());
        // (--values cql renders nothing for a tombstone or a set element: their values are always empty)
        out.println(sb);
    }

    private void clustering(TableMetadata md, ClusteringPrefix<?> cl)
    {
        sb.append('(');
        for (int i = 0; i < cl.size(); i++)
        {
            if (i > 0)
                sb.append(',');
            Object v = cl.get(i);
            if (v == null)
                sb.append("null");
            else
                value(i < md.clusteringColumns().size() ? md.clusteringColumns().get(i).type : null, cl.bufferAt(i));
        }
        sb.append(')');
    }

    private void deletion(String what, DeletionTime d)
    {
        if (!what.isEmpty())
            sb.append(' ').append(what);
        sb.append(" ts=").append(d.markedForDeleteAt()).append(" ldt=").append((long) d.localDeletionTime());
    }

    /**
     * Appends a CQL literal on one line: a backslash becomes two, and
     * control characters (below U+0020, and U+007F) become \\n, \\r, \\t or \\uXXXX.
     */
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

    /** Appends a value: hex, or with --values cql its CQL literal (hex when the type is unknown). */
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
            escape(Compat.cqlLiteral(type, v.duplicate()));
        }
        catch (Exception | AssertionError e)
        {
            sb.append("!unrenderable:").append(ByteBufferUtil.bytesToHex(v));
        }
    }
}
