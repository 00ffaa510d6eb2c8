package cdctail.oracle;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;

import org.apache.cassandra.config.DatabaseDescriptor;
import org.apache.cassandra.db.Mutation;
import org.apache.cassandra.db.commitlog.CommitLogDescriptor;
import org.apache.cassandra.db.commitlog.CommitLogReadHandler;
import org.apache.cassandra.db.commitlog.CommitLogReader;
import org.apache.cassandra.db.partitions.PartitionUpdate;
import org.apache.cassandra.dht.Murmur3Partitioner;

/**
 * The peer of `make bench`: Cassandra's own commitlog reader over the same
 * segments, deserializing every mutation (Mutation.serializer, as replay
 * does) with the fixture's schema, in several passes so the JIT is warm.
 * Prints one line per pass: wall seconds, mutations, rows, entry bytes.
 *
 * Usage: Bench --schema CASE_DIR [--passes N] FILE...
 */
public final class Bench
{
    private Bench() {}

    /** Counts what the reader hands over; the work is the deserialization. */
    static final class Counting implements CommitLogReadHandler
    {
        long mutations, rows, bytes, errors;

        @Override
        public boolean shouldSkipSegmentOnError(CommitLogReadException e) { errors++; return false; }

        @Override
        public void handleUnrecoverableError(CommitLogReadException e) { errors++; }

        @Override
        public void handleMutation(Mutation m, int size, int entryLocation, CommitLogDescriptor desc)
        {
            mutations++;
            bytes += size;
            for (PartitionUpdate u : m.getPartitionUpdates())
                rows += u.rowCount() + (u.partitionLevelDeletion().isLive() ? 0 : 1);
        }
    }

    public static void main(String[] args) throws Exception
    {
        String schemaDir = null;
        int passes = 5;
        List<String> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++)
        {
            if (args[i].equals("--schema") && i + 1 < args.length)
                schemaDir = args[++i];
            else if (args[i].equals("--passes") && i + 1 < args.length)
                passes = Integer.parseInt(args[++i]);
            else
                files.add(args[i]);
        }
        if (schemaDir == null || files.isEmpty())
        {
            System.err.println("usage: Bench --schema CASE_DIR [--passes N] FILE...");
            System.exit(2);
        }
        System.setProperty("cassandra.schema.force_load_local_keyspaces", "true");
        DatabaseDescriptor.clientInitialization();
        if (DatabaseDescriptor.getPartitioner() == null)
            DatabaseDescriptor.setPartitionerUnsafe(Murmur3Partitioner.instance);
        Compat.setMaxMutationSize();
        OfflineSchema.load(schemaDir);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int p = 1; p <= passes; p++)
        {
            Counting h = new Counting();
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            for (String f : files)
            {
                try
                {
                    Compat.readSegment(new CommitLogReader(), h, f, true);
                }
                catch (Throwable e)
                {
                    h.errors++;
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
            System.out.printf("pass %d seconds=%.4f cpu=%.4f mutations=%d rows=%d bytes=%d errors=%d%n",
                              p, secs, cpu, h.mutations, h.rows, h.bytes, h.errors);
        }
        System.exit(0);
    }
}
