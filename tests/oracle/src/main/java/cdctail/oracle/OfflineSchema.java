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

import org.apache.cassandra.cql3.CQLStatement;
import org.apache.cassandra.cql3.QueryProcessor;
import org.apache.cassandra.cql3.statements.schema.CreateKeyspaceStatement;
import org.apache.cassandra.cql3.statements.schema.CreateTableStatement;
import org.apache.cassandra.cql3.statements.schema.CreateTypeStatement;
import org.apache.cassandra.db.marshal.AbstractType;
import org.apache.cassandra.dht.Murmur3Partitioner;
import org.apache.cassandra.schema.CQLTypeParser;
import org.apache.cassandra.schema.ColumnMetadata;
import org.apache.cassandra.schema.KeyspaceMetadata;
import org.apache.cassandra.schema.KeyspaceParams;
import org.apache.cassandra.schema.TableId;
import org.apache.cassandra.schema.TableMetadata;
import org.apache.cassandra.schema.Tables;
import org.apache.cassandra.schema.Types;
import org.apache.cassandra.service.ClientState;

/**
 * Builds a fixture's schema offline, with Cassandra's own CQL classes, and
 * registers it in Schema.instance so that Mutation.serializer can find its
 * tables.
 *
 * - schema.cql: CREATE KEYSPACE / CREATE TYPE / CREATE TABLE statements (and
 *   USE), parsed by QueryProcessor.parseStatement. Types are built per
 *   keyspace with Types.RawBuilder, tables with CreateTableStatement.builder,
 *   as Cassandra's own offline CQLSSTableWriter does. Keyspace options are not
 *   needed to read mutations and are replaced by SimpleStrategy(1).
 * - schema.json (docs/schema-json.md): each table's real id (a table created
 *   by CQL gets a fresh time-based id otherwise) and its dropped columns,
 *   whose types are parsed with CQLTypeParser as Cassandra parses
 *   system_schema.dropped_columns.
 *
 * The partitioner is Murmur3Partitioner (Cassandra's default; the fixtures'
 * nodes use it); client mode has none configured.
 */
final class OfflineSchema
{
    private OfflineSchema() {}

    static void load(String dir) throws Exception
    {
        Compat.loadLocalKeyspaces40();

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
        Map<String, List<CreateTableStatement.Raw>> tables = new LinkedHashMap<>();
        String current = null;
        for (String text : statements(new String(Files.readAllBytes(cql.toPath()), StandardCharsets.UTF_8)))
        {
            Matcher use = USE.matcher(text);
            if (use.matches())
            {
                current = use.group(1) != null ? use.group(1) : use.group(2).toLowerCase();
                continue;
            }
            CQLStatement.Raw raw = QueryProcessor.parseStatement(text);
            ClientState state = current == null ? ClientState.forInternalCalls() : ClientState.forInternalCalls(current);
            if (raw instanceof CreateKeyspaceStatement.Raw)
            {
                String ks = ((CreateKeyspaceStatement.Raw) raw).keyspaceName;
                types.computeIfAbsent(ks, Types::rawBuilder);
                tables.computeIfAbsent(ks, k -> new ArrayList<>());
            }
            else if (raw instanceof CreateTypeStatement.Raw)
            {
                CreateTypeStatement.Raw t = (CreateTypeStatement.Raw) raw;
                String ks = t.prepare(state).keyspace();
                t.addToRawBuilder(types.computeIfAbsent(ks, Types::rawBuilder));
            }
            else if (raw instanceof CreateTableStatement.Raw)
            {
                CreateTableStatement.Raw t = (CreateTableStatement.Raw) raw;
                String ks = t.prepare(state).keyspace();
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
            for (CreateTableStatement.Raw raw : tables.get(ks))
            {
                CreateTableStatement st = raw.prepare(ClientState.forInternalCalls(ks));
                TableMetadata.Builder b = st.builder(ksTypes).partitioner(Murmur3Partitioner.instance);
                String name = raw.table();
                JsonNode jt = jsonTables.remove(ks + "." + name);
                if (jt == null)
                {
                    System.err.println("oracle: schema.json has no table " + ks + "." + name + ": it keeps the id CQL gives it");
                }
                else
                {
                    b.id(TableId.fromUUID(UUID.fromString(jt.path("id").asText())));
                    for (JsonNode d : jt.path("dropped_columns"))
                    {
                        AbstractType<?> type = CQLTypeParser.parse(ks, d.path("type").asText(), ksTypes);
                        String col = d.path("name").asText();
                        ColumnMetadata c = "static".equals(d.path("kind").asText())
                                           ? ColumnMetadata.staticColumn(ks, name, col, type)
                                           : ColumnMetadata.regularColumn(ks, name, col, type);
                        b.recordColumnDrop(c, d.path("dropped_time").asLong());
                    }
                }
                ksTables = ksTables.with(b.build());
            }
            KeyspaceMetadata ksm = KeyspaceMetadata.create(ks, KeyspaceParams.simple(1)).withSwapped(ksTypes).withSwapped(ksTables);
            Compat.addKeyspace(ksm);
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
