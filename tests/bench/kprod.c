/* kprod.c - the peer for `make bench`: librdkafka's own producer rate for a
 * given set of messages, with nothing else to do. Reads "topic\tkey\tvalue"
 * lines (the messages cdctail produced for the same segments), keeps them in
 * memory, then produces them all with the same properties cdctail uses
 * (idempotent, acks=all, Nagle off, plus -X k=v) and waits for every delivery report.
 * Prints messages/s and MB/s of the produce-to-last-ack interval. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct msg {
	char *topic, *key, *value;
	size_t keylen, len;
} msg;

static long delivered, failed;

static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		failed++;
	else
		delivered++;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512], *line = NULL;
	size_t cap = 0, n = 0, alloc = 0, i, bytes = 0;
	msg *v = NULL;
	ssize_t len;
	rd_kafka_t *rk;
	double t0, t1;
	int a;

	if (argc < 3) {
		fprintf(stderr, "usage: kprod BROKERS FILE [-X k=v]...\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		char *t1p = strchr(line, '\t'), *t2p = t1p ? strchr(t1p + 1, '\t') : NULL;

		if (!t2p)
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			v = realloc(v, alloc * sizeof(*v));
			if (!v)
				return 1;
		}
		*t1p = *t2p = '\0';
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		v[n].topic = strdup(line);
		v[n].key = strdup(t1p + 1);
		v[n].keylen = strlen(v[n].key);
		v[n].value = strdup(t2p + 1);
		v[n].len = strlen(v[n].value);
		bytes += v[n].len;
		n++;
	}
	fclose(f);
	free(line);
	rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err));
	rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
	rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err));
	rd_kafka_conf_set(conf, "socket.nagle.disable", "true", err, sizeof(err)); /* as cdctail sets it */
	for (a = 3; a + 1 < argc; a += 2) {
		char *eq = strchr(argv[a + 1], '=');

		if (strcmp(argv[a], "-X") != 0 || !eq)
			return 2;
		*eq = '\0';
		if (rd_kafka_conf_set(conf, argv[a + 1], eq + 1, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t0 = now();
	for (i = 0; i < n; i++) {
		while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(v[i].topic), RD_KAFKA_V_KEY(v[i].key, v[i].keylen),
					 RD_KAFKA_V_VALUE(v[i].value, v[i].len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 300000);
	t1 = now();
	printf("kprod messages=%zu delivered=%ld failed=%ld seconds=%.3f msgs_per_s=%.0f mb_per_s=%.1f\n", n, delivered,
	       failed, t1 - t0, n / (t1 - t0), bytes / (t1 - t0) / 1e6);
	rd_kafka_destroy(rk);
	for (i = 0; i < n; i++) {
		free(v[i].topic);
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
	return failed ? 1 : 0;
}
