/* fuzz_applyplan.c - libFuzzer target for what `cdctail apply` reads of an
 * event line (jsonv.c, applyplan.c, bind.c): any bytes, as Kafka or an
 * application may hold them, planned against the `types` and `seed` fixture
 * schemas (any keyspace name maps to the table of that name). An accepted
 * event must satisfy what the plan promises: every statement's values within
 * the value buffer, every text NUL-terminated, the list elements it adds
 * readable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "applyplan.h"
#include "err.h"
#include "fuzz_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cdc_schema *S;

static const cdc_table *lookup(void *opaque, const char *ks, size_t kslen, const char *tb, size_t tlen)
{
	size_t i;

	(void)opaque;
	(void)ks;
	(void)kslen;
	for (i = 0; i < cdc_schema_table_count(S); i++) {
		const cdc_table *t = cdc_schema_table_at(S, i);

		if (strlen(t->name) == tlen && memcmp(t->name, tb, tlen) == 0)
			return t;
	}
	return NULL;
}

static void check(cdc_plan *p)
{
	cdc_buf b = CDC_BUF_INIT;
	cdc_plan_elem *el = NULL;
	size_t i, n = 0;
	uint32_t k;

	for (i = 0; i < p->nst; i++) {
		const cdc_plan_stmt *s = &p->st[i];

		if (s->val_first + s->nval > p->nval || s->cql_off >= p->cql.len || !strchr(cdc_plan_cql(p, i), ' '))
			abort();
		for (k = 0; k < s->nval; k++) {
			const cdc_plan_value *v = &p->val[s->val_first + k];

			if (v->len >= 0 && v->off + (size_t)v->len > p->vals.len)
				abort();
		}
	}
	if (cdc_plan_list_adds(p, &b, &el, &n, NULL, 0) == 0)
		for (i = 0; i < n; i++)
			if (el[i].off + el[i].len > b.len || !el[i].col)
				abort();
	free(el);
	cdc_buf_free(&b);
	cdc_plan_describe(p, &b);
	cdc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errstr[CDC_ERRSTR_SIZE] = "";
	static cdc_plan p;
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char *line = malloc(size ? size : 1);
	int rc;

	if (!S)
		S = fuzz_schema_load();
	if (!line)
		return 0;
	memcpy(line, data, size);
	rc = cdc_plan_event(&p, line, size, lookup, NULL, 1700000000000000LL, errstr, sizeof(errstr));
	if (rc == 0)
		check(&p);
	else if (!errstr[0])
		abort();
	free(line);
	return 0;
}
