#!/usr/bin/env bash
# --format trigger reproduces the seed's trigger messages byte for byte: the
# six messages the seed article printed for its insert, update and four
# deletes (copied from the article) equal cdctail's for the same statements,
# which a real Cassandra wrote into fixtures/*/seed on every version.
. "$(dirname "$0")/lib.sh"
cat >"$TMP/expected" <<'JSON'
{"rows":[{"cells":[{"name":"director","value":"Philippe Falardeau"},{"name":"title","value":"The Good Lie"}],"clusteringKey":"7.4, 110"}],"key":"drama:2015"}
{"rows":[{"cells":[{"name":"title","value":"a"}],"clusteringKey":"7.4, 110"}],"key":"drama:2015"}
{"rows":[{"cells":[{"deleted":true,"name":"director"}],"clusteringKey":"7.4, 110"}],"key":"drama:2015"}
{"rows":[{"cells":[{"deleted":true,"name":"title"}],"clusteringKey":"7.4, 110"}],"key":"drama:2015"}
{"rows":[{"cells":[{"deleted":true,"name":"director"},{"deleted":true,"name":"title"}],"clusteringKey":"7.4, 110"}],"key":"drama:2015"}
{"rowDeleted":true,"rows":[{"clusteringKey":"7.4, 110"}],"key":"drama:2015"}
JSON
for v in $(fixture_versions); do
	case=fixtures/$v/seed
	"$CDCTAIL" replay --format trigger --schema "$case/schema.json" "$case/cdc_raw" 2>/dev/null | head -6 >"$TMP/got"
	if diff -u "$TMP/expected" "$TMP/got"; then
		ok "trigger format $v: the seed's six messages, byte for byte"
	else
		not_ok "trigger format $v: differs from the seed's messages"
	fi
done
