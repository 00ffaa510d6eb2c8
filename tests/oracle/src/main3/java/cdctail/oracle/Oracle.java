package cdctail.oracle;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.apache.cassandra.config.Config;
import org.apache.cassandra.config.DatabaseDescriptor;
import org.apache.cassandra.db.Mutation;
import org.apache.cassandra.db.commitlog.CommitLogDescriptor;
import org.apache.cassandra.db.commitlog.CommitLogPosition;
import org.apache.cassandra.db.commitlog.CommitLogReadHandler;
import org.apache.cassandra.db.commitlog.CommitLogReader;
import org.apache.cassandra.dht.Murmur3Partitioner;
import org.apache.cassandra.io.util.DataInputBuffer;
import org.apache.cassandra.utils.ByteBufferUtil;

/**
 * The oracle for Cassandra 3.x (3.8 and later: CommitLogReader): the same
 * program and output as src/main/java's (docs/oracle.md), written against
 * 3.x's API. Cassandra calls readMutation(...) for each entry whose size CRC
 * and body CRC matched, inside a section that passed the sync-marker checks
 * (and decompressed); entryLocation is the logical position after the
 * entry's trailing CRC.
 *
 * Usage: Oracle [--strict] [--mode entries|mutations] [--schema DIR] [--values hex|cql] FILE...
 */
public final class Oracle
{
    /** All of the oracle's results: stdout, buffered, flushed once at the end. */
    static final PrintStream OUT = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16), false);

    private Oracle() {}

    static final class EntryReader extends CommitLogReader
    {
        final UpdatePrinter printer; // null in --mode entries
        String base;
        int entries;

        EntryReader(UpdatePrinter printer)
        {
            this.printer = printer;
        }

        @Override
        protected void readMutation(CommitLogReadHandler handler, byte[] buf, int size,
                                    CommitLogPosition minPosition, int entryLocation,
                                    CommitLogDescriptor desc) throws IOException
        {
            entries++;
            StringBuilder line = new StringBuilder(160);
            line.append("entry ").append(base).append(" end=").append(entryLocation).append(" size=").append(size);
            // The head of a 3.0-format mutation: unsigned vint count of partition
            // updates, then the first update's 16-byte table id (cfId) and its
            // vint-length partition key.
            try (DataInputBuffer in = new DataInputBuffer(buf, 0, size))
            {
                long updates = in.readUnsignedVInt();
                UUID table = new UUID(in.readLong(), in.readLong());
                ByteBuffer key = ByteBufferUtil.readWithVIntLength(in);
                line.append(" updates=").append(updates).append(" table=").append(table)
                    .append(" key=").append(ByteBufferUtil.bytesToHex(key));
            }
            catch (IOException | RuntimeException e)
            {
                line.append(" undecodable=").append(Text.oneLine(String.valueOf(e)));
            }
            OUT.println(line);
            if (printer != null)
                printer.printMutation(buf, size, desc);
        }
    }

    /** Thrown to end a segment whose reader reports the same error again. */
    static final class StopSegment extends RuntimeException
    {
        StopSegment()
        {
            super("stop", null, false, false);
        }
    }

    /**
     * Prints Cassandra's errors and never asks to stop. As for 4.0, an error
     * identical to the previous one ends the segment (a guard against a reader
     * that retries an unreadable sync marker forever).
     */
    static final class Handler implements CommitLogReadHandler
    {
        final EntryReader reader;
        String last;

        Handler(EntryReader reader)
        {
            this.reader = reader;
        }

        private String line(CommitLogReadException e)
        {
            return "error " + reader.base + " " + e.reason + " permissible=" + e.permissible + " " + Text.oneLine(e.getMessage());
        }

        @Override
        public boolean shouldSkipSegmentOnError(CommitLogReadException e)
        {
            OUT.println(line(e));
            return false;
        }

        @Override
        public void handleUnrecoverableError(CommitLogReadException e)
        {
            String l = line(e);
            if (l.equals(last))
            {
                System.err.println("oracle: " + reader.base + ": Cassandra reported the same error twice in a row: ending the segment");
                throw new StopSegment();
            }
            last = l;
            OUT.println(l);
        }

        @Override
        public void handleMutation(Mutation m, int size, int entryLocation, CommitLogDescriptor desc)
        {
            // never called: EntryReader.readMutation does not pass entries on
        }
    }

    static void usage(String why)
    {
        System.err.println("oracle: " + why);
        System.err.println("usage: Oracle [--strict] [--mode entries|mutations] [--schema DIR] [--values hex|cql] FILE...");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception
    {
        boolean tolerate = true;
        String mode = "entries";
        String schemaDir = null;
        String values = "hex";
        List<String> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++)
        {
            String a = args[i];
            if (a.equals("--strict"))
                tolerate = false;
            else if (a.equals("--mode") && i + 1 < args.length)
                mode = args[++i];
            else if (a.equals("--schema") && i + 1 < args.length)
                schemaDir = args[++i];
            else if (a.equals("--values") && i + 1 < args.length)
                values = args[++i];
            else if (a.startsWith("--"))
                usage("unknown option " + a);
            else
                files.add(a);
        }
        if (!mode.equals("entries") && !mode.equals("mutations"))
            usage("--mode must be entries or mutations");
        if (!values.equals("hex") && !values.equals("cql"))
            usage("--values must be hex or cql");
        if (mode.equals("mutations") && schemaDir == null)
            usage("--mode mutations needs --schema DIR (schema.cql and schema.json)");

        // Client mode (also sets Config.setClientMode(true)); no partitioner is
        // configured: use Murmur3Partitioner, Cassandra's default and the fixtures'.
        DatabaseDescriptor.clientInitialization();
        if (DatabaseDescriptor.getPartitioner() == null)
            DatabaseDescriptor.setPartitionerUnsafe(Murmur3Partitioner.instance);

        UpdatePrinter printer = null;
        if (mode.equals("mutations"))
        {
            // Mutation's static initialiser reads max_mutation_size_in_kb, unset in
            // client mode: half of the default 32 MiB segment, as the daemon derives it.
            Config conf = DatabaseDescriptor.getRawConfig();
            if (conf.max_mutation_size_in_kb == null)
                conf.max_mutation_size_in_kb = 16 * 1024;
            OfflineSchema.load(schemaDir);
            printer = new UpdatePrinter(OUT, values.equals("cql"));
        }

        for (String path : files)
            readFile(path, tolerate, printer);
        OUT.flush();
        System.exit(OUT.checkError() ? 1 : 0);
    }

    /** CommitLogDescriptor.version is package-private. */
    static int descriptorVersion(CommitLogDescriptor d) throws ReflectiveOperationException
    {
        Field f = CommitLogDescriptor.class.getDeclaredField("version");
        f.setAccessible(true);
        return f.getInt(d);
    }

    static void readFile(String path, boolean tolerate, UpdatePrinter printer)
    {
        EntryReader reader = new EntryReader(printer);
        reader.base = path.substring(path.lastIndexOf('/') + 1);
        try (DataInputStream in = new DataInputStream(new FileInputStream(path)))
        {
            CommitLogDescriptor d = CommitLogDescriptor.readHeader(in, DatabaseDescriptor.getEncryptionContext());
            if (d == null)
                OUT.println("segment " + reader.base + " unreadable-descriptor");
            else
                OUT.println("segment " + reader.base + " version=" + descriptorVersion(d) + " id=" + d.id
                            + " compression=" + (d.compression == null ? "none" : d.compression.class_name));
        }
        catch (Exception e)
        {
            OUT.println("segment " + reader.base + " unreadable-descriptor " + Text.oneLine(String.valueOf(e)));
        }
        try
        {
            reader.readCommitLogSegment(new Handler(reader), new File(path), tolerate);
        }
        catch (Throwable e)
        {
            // Cassandra's reader threw: it gives up on the rest of the segment.
            Throwable c = e;
            while (!(c instanceof StopSegment) && c.getCause() != null)
                c = c.getCause();
            if (!(c instanceof StopSegment))
                OUT.println("error " + reader.base + " EXCEPTION permissible=false " + Text.oneLine(String.valueOf(e)));
        }
        OUT.println("end " + reader.base + " entries=" + reader.entries);
    }
}
