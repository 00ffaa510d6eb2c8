package cdctail.oracle;

import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.apache.cassandra.config.DatabaseDescriptor;
import org.apache.cassandra.db.Mutation;
import org.apache.cassandra.db.commitlog.CommitLogDescriptor;
import org.apache.cassandra.db.commitlog.CommitLogPosition;
import org.apache.cassandra.db.commitlog.CommitLogReadHandler;
import org.apache.cassandra.db.commitlog.CommitLogReader;
import org.apache.cassandra.io.util.DataInputBuffer;
import org.apache.cassandra.schema.TableId;
import org.apache.cassandra.utils.ByteBufferUtil;

/**
 * Reads commitlog segments with Cassandra's own CommitLogReader and prints,
 * in reading order, every entry that passed Cassandra's container checks
 * (sync markers, CRCs, decompression), with its position, size, and the
 * table id and partition key of its first partition update. The mutation
 * head is read with Cassandra's own helpers, so no schema is needed.
 *
 * Output (stdout):
 *   segment BASENAME version=V id=ID compression=CLASS|none
 *   entry BASENAME end=POS size=N updates=U table=UUID key=HEX
 *   error BASENAME REASON permissible=BOOL MESSAGE
 *   end BASENAME entries=N
 */
public final class Oracle
{
    private Oracle() {}

    /** Overrides the entry hook: sees raw bytes after every container check. */
    static final class EntryReader extends CommitLogReader
    {
        String base;
        int entries;

        @Override
        protected void readMutation(CommitLogReadHandler handler, byte[] buf, int size,
                                    CommitLogPosition minPosition, int entryLocation,
                                    CommitLogDescriptor desc) throws IOException
        {
            entries++;
            try (DataInputBuffer in = new DataInputBuffer(buf, 0, size))
            {
                long updates = in.readUnsignedVInt();
                TableId table = TableId.deserialize(in);
                ByteBuffer key = ByteBufferUtil.readWithVIntLength(in);
                System.out.println("entry " + base + " end=" + entryLocation + " size=" + size
                                   + " updates=" + updates + " table=" + table
                                   + " key=" + ByteBufferUtil.bytesToHex(key));
            }
            catch (IOException | RuntimeException e)
            {
                System.out.println("entry " + base + " end=" + entryLocation + " size=" + size
                                   + " undecodable=" + e);
            }
        }
    }

    /** Thrown to end a segment whose reader reports the same error again. */
    static final class StopSegment extends RuntimeException
    {
        StopSegment() { super("stop", null, false, false); }
    }

    /**
     * Prints Cassandra's errors; keeps reading whenever Cassandra allows it.
     * Cassandra 4.0/4.1's SegmentIterator retries the same marker forever when
     * the handler lets a SegmentReadException pass (5.0 ends the segment); a
     * repeated identical error therefore ends the segment here, as in 5.0.
     */
    static final class Handler implements CommitLogReadHandler
    {
        final EntryReader reader;
        String last;

        Handler(EntryReader reader) { this.reader = reader; }

        @Override
        public boolean shouldSkipSegmentOnError(CommitLogReadException e)
        {
            System.out.println("error " + reader.base + " " + e.reason + " permissible=" + e.permissible + " " + oneLine(e.getMessage()));
            return false;
        }

        @Override
        public void handleUnrecoverableError(CommitLogReadException e)
        {
            String line = "error " + reader.base + " " + e.reason + " permissible=" + e.permissible + " " + oneLine(e.getMessage());
            if (line.equals(last))
                throw new StopSegment();
            last = line;
            System.out.println(line);
        }

        @Override
        public void handleMutation(Mutation m, int size, int entryLocation, CommitLogDescriptor desc) {}
    }

    /** The descriptor's version field is package-private; read it reflectively. */
    static int version(CommitLogDescriptor d) throws ReflectiveOperationException
    {
        java.lang.reflect.Field f = CommitLogDescriptor.class.getDeclaredField("version");
        f.setAccessible(true);
        return f.getInt(d);
    }

    static String oneLine(String s)
    {
        return s == null ? "" : s.replace('\n', ' ');
    }

    /** Calls readCommitLogSegment(handler, File, boolean) whichever File class this version uses. */
    static void readSegment(EntryReader reader, Handler handler, String path, boolean tolerate) throws Exception
    {
        for (Method m : CommitLogReader.class.getMethods())
        {
            Class<?>[] p = m.getParameterTypes();
            if (m.getName().equals("readCommitLogSegment") && p.length == 3 && p[2] == boolean.class)
            {
                Object file = p[1].getConstructor(String.class).newInstance(path);
                m.invoke(reader, handler, file, tolerate);
                return;
            }
        }
        throw new IllegalStateException("no readCommitLogSegment(handler, File, boolean) in this Cassandra");
    }

    public static void main(String[] args) throws Exception
    {
        boolean tolerate = true;
        List<String> files = new ArrayList<>();
        for (String a : args)
        {
            if (a.equals("--strict"))
                tolerate = false;
            else
                files.add(a);
        }
        DatabaseDescriptor.clientInitialization();
        for (String path : files)
        {
            EntryReader reader = new EntryReader();
            reader.base = path.substring(path.lastIndexOf('/') + 1);
            try (DataInputStream in = new DataInputStream(new FileInputStream(path)))
            {
                CommitLogDescriptor d = CommitLogDescriptor.readHeader(in, DatabaseDescriptor.getEncryptionContext());
                if (d == null)
                    System.out.println("segment " + reader.base + " unreadable-descriptor");
                else
                    System.out.println("segment " + reader.base + " version=" + version(d) + " id=" + d.id
                                       + " compression=" + (d.compression == null ? "none" : d.compression.class_name));
            }
            catch (Exception e)
            {
                System.out.println("segment " + reader.base + " unreadable-descriptor " + oneLine(String.valueOf(e)));
            }
            try
            {
                readSegment(reader, new Handler(reader), path, tolerate);
            }
            catch (Exception e)
            {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                if (!(c instanceof StopSegment))
                    System.out.println("error " + reader.base + " EXCEPTION permissible=false " + oneLine(String.valueOf(c)));
            }
            System.out.println("end " + reader.base + " entries=" + reader.entries);
        }
        System.out.flush();
        System.exit(0);
    }
}
