/*
 * kafka_dev.c - a Kafka cluster for development and tests: librdkafka's mock
 * cluster (rdkafka_mock.h: the real Kafka protocol on loopback TCP) with the
 * project's topics created.
 *
 * Why this exists: no Kafka broker is packaged for this platform, and tests
 * need a real protocol peer that beacond, beacon-etl and kcat can all talk to.
 * Limits of the mock, which tests must respect: data lives in memory, and
 * each partition keeps only its newest ~5 MiB (older segments are deleted),
 * so give topics enough partitions and keep consumers running.
 *
 *   kafka-dev [--brokers N] [--partitions N] [--topics a,b,c]
 *             [--bootstrap-file FILE]
 *
 * Prints "bootstrap=HOST:PORT,..." on stdout and writes the list to FILE.
 * Stays up until SIGTERM/SIGINT.  Fault injection for tests:
 *   SIGUSR1 sets every broker down, SIGUSR2 sets them up again.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop, want_down, want_up;

/* Signal handlers: run on whichever thread the kernel picks; they only set
 * flags that the main loop reads. */
static void on_stop(int sig) { (void)sig; stop = 1; }
static void on_usr1(int sig) { (void)sig; want_down = 1; }
static void on_usr2(int sig) { (void)sig; want_up = 1; }

static void usage(FILE *f)
{
	fprintf(f, "usage: kafka-dev [--brokers N] [--partitions N] [--topics a,b,c]\n"
		   "                 [--bootstrap-file FILE]\n"
		   "  defaults: 1 broker, 32 partitions, topics ugc.views,ugc.events,ugc.actions,ugc.dlq\n"
		   "  SIGUSR1: all brokers down; SIGUSR2: all up; SIGTERM/SIGINT: exit\n");
}

static int set_all(rd_kafka_mock_cluster_t *mc, int n, int up)
{
	for (int i = 1; i <= n; i++) {
		rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(mc, i)
					   : rd_kafka_mock_broker_set_down(mc, i);
		if (e) {
			fprintf(stderr, "kafka-dev: broker %d: %s\n", i, rd_kafka_err2str(e));
			return -1;
		}
	}
	printf("kafka-dev: brokers %s\n", up ? "up" : "down");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "partitions", required_argument, NULL, 'p' },
		{ "topics", required_argument, NULL, 't' },
		{ "bootstrap-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int brokers = 1, partitions = 32, c;
	const char *topics = "ugc.views,ugc.events,ugc.actions,ugc.dlq", *bfile = NULL;
	char errstr[512];

	while ((c = getopt_long(argc, argv, "b:p:t:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': brokers = atoi(optarg); break;
		case 'p': partitions = atoi(optarg); break;
		case 't': topics = optarg; break;
		case 'f': bfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (brokers < 1 || brokers > 16 || partitions < 1 || partitions > 1024 || !*topics) {
		usage(stderr);
		return 2;
	}

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
		fprintf(stderr, "kafka-dev: %s\n", errstr);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafka-dev: %s\n", errstr);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka-dev: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}

	char *list = strdup(topics), *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, t, partitions,
								   brokers < 3 ? brokers : 3);
		if (e) {
			fprintf(stderr, "kafka-dev: topic %s: %s\n", t, rd_kafka_err2str(e));
			free(list);
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}
	free(list);

	const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
	if (bfile) {
		FILE *f = fopen(bfile, "w");
		if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f)) {
			fprintf(stderr, "kafka-dev: %s: %s\n", bfile, strerror(errno));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}
	printf("bootstrap=%s\n", bs);
	printf("kafka-dev: %d broker(s), topics %s with %d partitions each; SIGTERM to stop\n",
	       brokers, topics, partitions);
	fflush(stdout);

	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);

	while (!stop) {
		if (want_down) {
			want_down = 0;
			set_all(mc, brokers, 0);
		}
		if (want_up) {
			want_up = 0;
			set_all(mc, brokers, 1);
		}
		usleep(20000);
	}
	printf("kafka-dev: stopping\n");
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
