package cdctail.oracle;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.cassandra.config.CFMetaData;
import org.apache.cassandra.config.ColumnDefinition;
import org.apache.cassandra.config.Schema;
import org.apache.cassandra.cql3.QueryProcessor;
import org.apache.cassandra.cql3.statements.CreateKeyspaceStatement;
import org.apache.cassandra.cql3.statements.CreateTableStatement;
import org.apache.cassandra.cql3.statements.CreateTypeStatement;
import org.apache.cassandra.cql3.statements.ParsedStatement;
import org.apache.cassandra.db.SystemKeyspace;
import org.apache.cassandra.db.marshal.AbstractType;
import org.apache.cassandra.dht.Murmur3Partitioner;
import org.apache.cassandra.schema.CQLTypeParser;
import org.apache.cassandra.schema.KeyspaceMetadata;
import org.apache.cassandra.schema.KeyspaceParams;
import org.apache.cassandra.schema.SchemaKeyspace;
import org.apache.cassandra.schema.Tables;
import org.apache.cassandra.schema.Types;
import org.apache.cassandra.service.ClientState;

/**
 * Builds a fixture's schema offline with Cassandra 3.x's own CQL classes and
 * registers it in Schema.instance (docs/oracle.md, "Schema"):
 *
 * - Schema.instance starts empty in client mode: system_schema and system
 *   are loaded first, as 3.x's CQLSSTableWriter does.
 * - schema.cql: CREATE KEYSPACE / CREATE TYPE / CREATE TABLE (and USE),
 *   parsed by QueryProcessor.parseStatement. Types per keyspace with
 *   Types.RawBuilder; tables with CreateTableStatement.RawStatement.prepare(types)
 *   and its metadataBuilder(). Keyspace options are replaced by SimpleStrategy(1).
 * - schema.json: each table's real id (CFMetaData.Builder.withId) and its
 *   dropped columns (CFMetaData.recordColumnDrop, types by CQLTypeParser).
 */
final class OfflineSchema
{
    private OfflineSchema() {}

    static void load(String dir) throws Exception
    {
        if (Schema.instance.getKSMetaData("system_schema") == null)
            Schema.instance.load(SchemaKeyspace.metadata());
        if (Schema.instance.getKSMetaData("system") == null)
            Schema.instance.load(SystemKeyspace.metadata());

        File cql = new File(dir, "schema.cql");
        File json = new File(dir, "schema.json");
        if (!cql.isFile())
            throw new IOException("no schema.cql in " + dir);

        Map<String, JsonNode> jsonTables = new HashMap<>();
        if (json.isFile())
        {
            JsonNode root = new ObjectMapper().readTree(json);
            // the tables schema.cql creates: not Cassandra's own ("internal"),
            // not those dropped during the workload (their name may be reused)
            for (JsonNode t : root.path("tables"))
                if (!t.path("internal").asBoolean(false) && !t.path("dropped").asBoolean(false))
                    jsonTables.put(t.path("keyspace").asText() + "." + t.path("table").asText(), t);
        }
        else
        {
            System.err.println("oracle: no schema.json in " + dir + ": tables keep the ids CQL gives them");
        }

        // Keyspaces in order of creation; per keyspace its type and table statements.
        Map<String, Types.RawBuilder> types = new LinkedHashMap<>();
        Map<String, List<CreateTableStatement.RawStatement>> tables = new LinkedHashMap<>();
        String current = null;
        for (String text : statements(new String(Files.readAllBytes(cql.toPath()), StandardCharsets.UTF_8)))
        {
            Matcher use = USE.matcher(text);
            if (use.matches())
            {
                current = use.group(1) != null ? use.group(1) : use.group(2).toLowerCase();
                continue;
            }
            ParsedStatement raw = QueryProcessor.parseStatement(text);
            ClientState state = ClientState.forInternalCalls();
            if (current != null)
                state.setKeyspace(current);
            if (raw instanceof CreateKeyspaceStatement)
            {
                String ks = ((CreateKeyspaceStatement) raw).keyspace();
                types.computeIfAbsent(ks, Types::rawBuilder);
                tables.computeIfAbsent(ks, k -> new ArrayList<>());
            }
            else if (raw instanceof CreateTypeStatement)
            {
                CreateTypeStatement t = (CreateTypeStatement) raw;
                t.prepareKeyspace(state);
                String ks = t.keyspace();
                t.addToRawBuilder(types.computeIfAbsent(ks, Types::rawBuilder));
                tables.computeIfAbsent(ks, k -> new ArrayList<>());
            }
            else if (raw instanceof CreateTableStatement.RawStatement)
            {
                CreateTableStatement.RawStatement t = (CreateTableStatement.RawStatement) raw;
                t.prepareKeyspace(state);
                String ks = t.keyspace();
                tables.computeIfAbsent(ks, k -> new ArrayList<>()).add(t);
                types.computeIfAbsent(ks, Types::rawBuilder);
            }
            else
            {
                System.err.println("oracle: schema.cql: ignoring " + raw.getClass().getSimpleName() + ": " + text);
            }
        }

        for (Map.Entry<String, Types.RawBuilder> e : types.entrySet())
        {
            String ks = e.getKey();
            Types ksTypes = e.getValue().build();
            Tables ksTables = Tables.none();
            for (CreateTableStatement.RawStatement raw : tables.get(ks))
            {
                CreateTableStatement st = (CreateTableStatement) raw.prepare(ksTypes).statement;
                CFMetaData.Builder b = st.metadataBuilder().withPartitioner(Murmur3Partitioner.instance);
                String name = raw.columnFamily();
                JsonNode jt = jsonTables.remove(ks + "." + name);
                if (jt == null)
                    System.err.println("oracle: schema.json has no table " + ks + "." + name + ": it keeps the id CQL gives it");
                else
                    b.withId(UUID.fromString(jt.path("id").asText()));
                CFMetaData cfm = b.build().params(st.params());
                if (jt != null)
                {
                    for (JsonNode d : jt.path("dropped_columns"))
                    {
                        AbstractType<?> type = CQLTypeParser.parse(ks, d.path("type").asText(), ksTypes);
                        String col = d.path("name").asText();
                        ColumnDefinition c = "static".equals(d.path("kind").asText())
                                             ? ColumnDefinition.staticDef(ks, name, col, type)
                                             : ColumnDefinition.regularDef(ks, name, col, type);
                        cfm.recordColumnDrop(c, d.path("dropped_time").asLong());
                    }
                }
                ksTables = ksTables.with(cfm);
            }
            KeyspaceMetadata ksm = KeyspaceMetadata.create(ks, KeyspaceParams.simple(1)).withSwapped(ksTypes).withSwapped(ksTables);
            Schema.instance.load(ksm);
        }
        for (String missing : jsonTables.keySet())
            System.err.println("oracle: schema.json table " + missing + " has no CREATE TABLE in schema.cql: not loaded");
    }

    private static final Pattern USE = Pattern.compile("(?is)\\s*USE\\s+(?:\"((?:[^\"]|\"\")+)\"|(\\w+))\\s*");

    /**
     * Splits CQL text into statements at ';' outside quotes ('...', "...",
     * $$...$$) and comments (--, //, block comments); comments are dropped.
     */
    static List<String> statements(String text)
    {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int n = text.length();
        for (int i = 0; i < n; i++)
        {
            char c = text.charAt(i);
            char next = i + 1 < n ? text.charAt(i + 1) : 0;
            if (c == '\'' || c == '"')
            {
                int j = i + 1;
                while (j < n)
                {
                    if (text.charAt(j) == c)
                    {
                        if (j + 1 < n && text.charAt(j + 1) == c)
                            j += 2; // doubled quote
                        else
                            break;
                    }
                    else
                    {
                        j++;
                    }
                }
                cur.append(text, i, Math.min(j + 1, n));
                i = j;
            }
            else if (c == '$' && next == '$')
            {
                int j = text.indexOf("$$", i + 2);
                j = j < 0 ? n : j + 2;
                cur.append(text, i, j);
                i = j - 1;
            }
            else if ((c == '-' && next == '-') || (c == '/' && next == '/'))
            {
                int j = text.indexOf('\n', i);
                i = j < 0 ? n : j;
                cur.append('\n');
            }
            else if (c == '/' && next == '*')
            {
                int j = text.indexOf("*/", i + 2);
                i = j < 0 ? n : j + 1;
                cur.append(' ');
            }
            else if (c == ';')
            {
                if (!cur.toString().trim().isEmpty())
                    out.add(cur.toString().trim());
                cur.setLength(0);
            }
            else
            {
                cur.append(c);
            }
        }
        if (!cur.toString().trim().isEmpty())
            out.add(cur.toString().trim());
        return out;
    }
}
