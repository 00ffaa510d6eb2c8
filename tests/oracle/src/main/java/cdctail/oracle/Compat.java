package cdctail.oracle;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;

import org.apache.cassandra.config.Config;
import org.apache.cassandra.config.DatabaseDescriptor;
import org.apache.cassandra.cql3.CQL3Type;
import org.apache.cassandra.db.commitlog.CommitLogDescriptor;
import org.apache.cassandra.db.commitlog.CommitLogReadHandler;
import org.apache.cassandra.db.commitlog.CommitLogReader;
import org.apache.cassandra.db.marshal.AbstractType;
import org.apache.cassandra.schema.KeyspaceMetadata;
import org.apache.cassandra.schema.Schema;

/**
 * The few calls whose signatures differ between Cassandra 4.0, 4.1 and 5.0,
 * made by reflection so that one source compiles against all three.
 */
final class Compat
{
    private Compat() {}

    /** Rethrows the cause of a reflective call's exception. */
    private static RuntimeException unwrap(InvocationTargetException e) throws Exception
    {
        Throwable c = e.getCause();
        if (c instanceof Exception)
            throw (Exception) c;
        if (c instanceof Error)
            throw (Error) c;
        throw e;
    }

    /** CommitLogDescriptor.version is package-private in all three versions. */
    static int descriptorVersion(CommitLogDescriptor d) throws ReflectiveOperationException
    {
        Field f = CommitLogDescriptor.class.getDeclaredField("version");
        f.setAccessible(true);
        return f.getInt(d);
    }

    private static Method readSegment;

    /**
     * CommitLogReader.readCommitLogSegment(handler, File, boolean tolerateTruncation):
     * java.io.File in 4.0, org.apache.cassandra.io.util.File in 4.1 and 5.0.
     */
    static void readSegment(CommitLogReader reader, CommitLogReadHandler handler, String path, boolean tolerate) throws Exception
    {
        if (readSegment == null)
        {
            for (Method m : CommitLogReader.class.getMethods())
            {
                Class<?>[] p = m.getParameterTypes();
                if (m.getName().equals("readCommitLogSegment") && p.length == 3 && p[0] == CommitLogReadHandler.class && p[2] == boolean.class)
                    readSegment = m;
            }
            if (readSegment == null)
                throw new IllegalStateException("no readCommitLogSegment(handler, File, boolean) in this Cassandra");
        }
        Object file = readSegment.getParameterTypes()[1].getConstructor(String.class).newInstance(path);
        try
        {
            readSegment.invoke(reader, handler, file, tolerate);
        }
        catch (InvocationTargetException e)
        {
            throw unwrap(e);
        }
    }

    /**
     * Adds a keyspace (with its types and tables) to Schema.instance, offline:
     * Schema.load(KeyspaceMetadata) in 4.0; in 4.1 and 5.0, which dropped it,
     * Schema.transform(SchemaTransformations.addKeyspace(ksm, true)), as their
     * CQLSSTableWriter does in client mode.
     */
    static void addKeyspace(KeyspaceMetadata ksm) throws Exception
    {
        try
        {
            try
            {
                Method load = Schema.class.getMethod("load", KeyspaceMetadata.class);
                load.invoke(Schema.instance, ksm);
                return;
            }
            catch (NoSuchMethodException e)
            {
                // 4.1, 5.0
            }
            Class<?> st = Class.forName("org.apache.cassandra.schema.SchemaTransformations");
            Class<?> t = Class.forName("org.apache.cassandra.schema.SchemaTransformation");
            Object add = st.getMethod("addKeyspace", KeyspaceMetadata.class, boolean.class).invoke(null, ksm, true);
            Schema.class.getMethod("transform", t).invoke(Schema.instance, add);
        }
        catch (InvocationTargetException e)
        {
            throw unwrap(e);
        }
    }

    /**
     * 4.0 only: Schema.instance in client mode starts empty; load system_schema
     * and system as 4.0's CQLSSTableWriter does (4.1 and 5.0 do it themselves
     * with cassandra.schema.force_load_local_keyspaces=true).
     */
    static void loadLocalKeyspaces40() throws Exception
    {
        Method sys;
        try
        {
            sys = Schema.class.getMethod("getSystemKeyspaceMetadata");
        }
        catch (NoSuchMethodException e)
        {
            return; // 4.1, 5.0
        }
        try
        {
            if (Schema.instance.getKeyspaceMetadata("system_schema") == null)
                addKeyspace((KeyspaceMetadata) sys.invoke(null));
            if (Schema.instance.getKeyspaceMetadata("system") == null)
                addKeyspace((KeyspaceMetadata) Class.forName("org.apache.cassandra.db.SystemKeyspace").getMethod("metadata").invoke(null));
        }
        catch (InvocationTargetException e)
        {
            throw unwrap(e);
        }
    }

    /**
     * Client mode leaves max_mutation_size unset, which Mutation's static
     * initialiser needs; set it as the daemon derives it (half the commitlog
     * segment size: Config's default 32 MiB gives 16 MiB): max_mutation_size_in_kb
     * (Integer) in 4.0, max_mutation_size (DataStorageSpec.IntKibibytesBound) in
     * 4.1 and 5.0. It only matters when writing.
     */
    static void setMaxMutationSize() throws Exception
    {
        Config conf = DatabaseDescriptor.getRawConfig();
        long kib = 16 * 1024;
        try
        {
            Field f = Config.class.getField("max_mutation_size");
            if (f.get(conf) == null)
                f.set(conf, f.getType().getConstructor(long.class).newInstance(kib));
        }
        catch (NoSuchFieldException e)
        {
            Field f = Config.class.getField("max_mutation_size_in_kb");
            if (f.get(conf) == null)
                f.set(conf, Integer.valueOf((int) kib));
        }
    }

    private static Method toCQLLiteral;
    private static Object protocolVersion;

    /**
     * type.asCQL3Type().toCQLLiteral(value): CQL3Type.toCQLLiteral(ByteBuffer)
     * in 5.0, toCQLLiteral(ByteBuffer, ProtocolVersion) (given CURRENT) in 4.x.
     */
    static String cqlLiteral(AbstractType<?> type, ByteBuffer value) throws Exception
    {
        if (toCQLLiteral == null)
        {
            try
            {
                toCQLLiteral = CQL3Type.class.getMethod("toCQLLiteral", ByteBuffer.class);
            }
            catch (NoSuchMethodException e)
            {
                Class<?> pv = Class.forName("org.apache.cassandra.transport.ProtocolVersion");
                protocolVersion = pv.getField("CURRENT").get(null);
                toCQLLiteral = CQL3Type.class.getMethod("toCQLLiteral", ByteBuffer.class, pv);
            }
        }
        CQL3Type t = type.asCQL3Type();
        try
        {
            return (String) (protocolVersion == null ? toCQLLiteral.invoke(t, value) : toCQLLiteral.invoke(t, value, protocolVersion));
        }
        catch (InvocationTargetException e)
        {
            throw unwrap(e);
        }
    }
}
