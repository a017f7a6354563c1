/* kafka-sandbox: a Kafka cluster for tests, demos and benchmarks, on
 * librdkafka's mock cluster. See README.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include "ksb_cluster.h"
#include "ksb_control.h"
#include "ksb_parse.h"

#define PROG "kafka-sandbox"
#define TOPICS_ARG_MAX 64
#define EXIT_USAGE 2

struct topic_arg {
  char name[KSB_TOPIC_NAME_MAX + 1];
  int partitions;
};

struct options {
  int brokers;
  struct topic_arg topics[TOPICS_ARG_MAX];
  int topic_cnt;
  const char *bootstrap_file; /* borrowed from argv */
  bool control;
  char control_host[64];
  uint16_t control_port;
  const char *control_file; /* borrowed from argv */
  const char *debug;        /* borrowed from argv */
};

static void usage(FILE *out)
{
  fprintf(out,
          "usage: " PROG " [--brokers N] [--topic NAME:PARTITIONS]...\n"
          "                     [--bootstrap-file FILE]\n"
          "                     [--control HOST:PORT] [--control-file FILE]\n"
          "                     [--debug CONTEXTS]\n"
          "\n"
          "Runs a mock Kafka cluster (librdkafka %s) on loopback until\n"
          "SIGTERM or SIGINT.\n"
          "  --brokers N            brokers, ids 1..N (default 3, at most %d)\n"
          "  --topic NAME:P         create topic NAME with P partitions and\n"
          "                         replication factor min(3, N); repeatable\n"
          "  --bootstrap-file FILE  write the bootstrap servers to FILE once\n"
          "                         ready (atomically, removed on exit)\n"
          "  --control HOST:PORT    serve the HTTP control API (port 0 picks\n"
          "                         a free port; HOST an IPv4 address)\n"
          "  --control-file FILE    write http://HOST:PORT there (before the\n"
          "                         bootstrap file; removed on exit)\n"
          "  --debug CONTEXTS       librdkafka debug contexts, e.g. mock\n"
          "  --version, --help\n",
          rd_kafka_version_str(), KSB_BROKERS_MAX);
}

/* Parses "NAME:PARTITIONS". Returns 0 or -1 with a message on stderr. */
static int parse_topic(const char *s, struct topic_arg *t)
{
  const char *colon = strrchr(s, ':');
  size_t len;
  long p;

  if (!colon) {
    fprintf(stderr, PROG ": invalid --topic \"%s\": expected NAME:PARTITIONS\n", s);
    return -1;
  }
  len = (size_t)(colon - s);
  if (len == 0 || len > KSB_TOPIC_NAME_MAX) {
    fprintf(stderr, PROG ": invalid --topic \"%s\": bad topic name\n", s);
    return -1;
  }
  memcpy(t->name, s, len);
  t->name[len] = '\0';
  if (!ksb_topic_name_valid(t->name)) {
    fprintf(stderr, PROG ": invalid --topic \"%s\": topic names are [a-zA-Z0-9._-]\n", s);
    return -1;
  }
  if (ksb_parse_long(colon + 1, 1, KSB_PARTITIONS_MAX, &p) < 0) {
    fprintf(stderr, PROG ": invalid --topic \"%s\": partitions must be 1..%d\n", s,
            KSB_PARTITIONS_MAX);
    return -1;
  }
  t->partitions = (int)p;
  return 0;
}

/* Parses "HOST:PORT" (or just "PORT", host 127.0.0.1). */
static int parse_control(const char *s, struct options *o)
{
  const char *colon = strrchr(s, ':');
  const char *port_s = colon ? colon + 1 : s;
  size_t host_len = colon ? (size_t)(colon - s) : 0;
  long port;

  if (host_len >= sizeof(o->control_host) || ksb_parse_long(port_s, 0, 65535, &port) < 0) {
    fprintf(stderr, PROG ": invalid --control \"%s\": expected HOST:PORT\n", s);
    return -1;
  }
  if (host_len == 0)
    snprintf(o->control_host, sizeof(o->control_host), "127.0.0.1");
  else
    snprintf(o->control_host, sizeof(o->control_host), "%.*s", (int)host_len, s);
  o->control_port = (uint16_t)port;
  o->control = true;
  return 0;
}

/* Returns 0 to run, or the exit code (0 for --help/--version). */
static int parse_args(int argc, char **argv, struct options *o, bool *exit_now)
{
  static const struct option longopts[] = {
    { "brokers", required_argument, NULL, 'b' },
    { "topic", required_argument, NULL, 't' },
    { "bootstrap-file", required_argument, NULL, 'f' },
    { "control", required_argument, NULL, 'c' },
    { "control-file", required_argument, NULL, 'C' },
    { "debug", required_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int ch;
  long n;

  *o = (struct options){ .brokers = 3 };
  *exit_now = false;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (ch) {
    case 'b':
      if (ksb_parse_long(optarg, 1, KSB_BROKERS_MAX, &n) < 0) {
        fprintf(stderr, PROG ": invalid --brokers \"%s\": expected 1..%d\n", optarg,
                KSB_BROKERS_MAX);
        return EXIT_USAGE;
      }
      o->brokers = (int)n;
      break;
    case 't':
      if (o->topic_cnt == TOPICS_ARG_MAX) {
        fprintf(stderr, PROG ": too many --topic: at most %d\n", TOPICS_ARG_MAX);
        return EXIT_USAGE;
      }
      if (parse_topic(optarg, &o->topics[o->topic_cnt]) < 0)
        return EXIT_USAGE;
      o->topic_cnt++;
      break;
    case 'f':
      o->bootstrap_file = optarg;
      break;
    case 'c':
      if (parse_control(optarg, o) < 0)
        return EXIT_USAGE;
      break;
    case 'C':
      o->control_file = optarg;
      break;
    case 'd':
      o->debug = optarg;
      break;
    case 'h':
      usage(stdout);
      *exit_now = true;
      return 0;
    case 'V':
      printf(PROG " %s (librdkafka %s)\n", LB_VERSION, rd_kafka_version_str());
      *exit_now = true;
      return 0;
    case ':':
      fprintf(stderr, PROG ": option \"%s\" needs a value\n", argv[optind - 1]);
      usage(stderr);
      return EXIT_USAGE;
    default:
      fprintf(stderr, PROG ": invalid option \"%s\"\n", argv[optind - 1]);
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
    return EXIT_USAGE;
  }
  if (o->control_file && !o->control) {
    fprintf(stderr, PROG ": --control-file needs --control\n");
    return EXIT_USAGE;
  }
  return 0;
}

/* Writes `text` and a newline to `path` through a temporary file and
 * rename(), so a reader sees the whole content or no file. */
static int write_file_atomic(const char *path, const char *text)
{
  char tmp[4096];
  size_t len = strlen(text);
  int fd = -1, ret = -1;

  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
    fprintf(stderr, PROG ": path too long \"%s\"\n", path);
    goto out;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, PROG ": cannot create \"%s\": %s\n", tmp, strerror(errno));
    goto out;
  }
  if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || close(fd) < 0) {
    fd = -1;
    fprintf(stderr, PROG ": cannot write \"%s\": %s\n", tmp, strerror(errno));
    unlink(tmp);
    goto out;
  }
  fd = -1;
  if (rename(tmp, path) < 0) {
    fprintf(stderr, PROG ": cannot rename \"%s\" to \"%s\": %s\n", tmp, path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  ret = 0;

out:
  if (fd >= 0)
    close(fd);
  return ret;
}

int main(int argc, char **argv)
{
  struct options opt;
  ksb_cluster *cluster = NULL;
  ksb_control *ctl = NULL;
  char errbuf[512], control_url[128] = "";
  bool exit_now, wrote_bootstrap = false, wrote_control = false;
  sigset_t sigs;
  int rc, i, sig;

  rc = parse_args(argc, argv, &opt, &exit_now);
  if (rc || exit_now)
    return rc;

  /* Block the stop signals before librdkafka and libmicrohttpd start their
   * threads, which inherit the mask: only sigwait() below receives them. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* Stale files from a killed run must not look like this run's. */
  if (opt.bootstrap_file)
    unlink(opt.bootstrap_file);
  if (opt.control_file)
    unlink(opt.control_file);

  rc = EXIT_FAILURE;
  cluster = ksb_cluster_new(opt.brokers, opt.debug, errbuf, sizeof(errbuf));
  if (!cluster) {
    fprintf(stderr, PROG ": %s\n", errbuf);
    goto out;
  }
  for (i = 0; i < opt.topic_cnt; i++) {
    if (ksb_cluster_topic_create(cluster, opt.topics[i].name, opt.topics[i].partitions, errbuf,
                                 sizeof(errbuf)) != KSB_OK) {
      fprintf(stderr, PROG ": cannot create topic \"%s\": %s\n", opt.topics[i].name, errbuf);
      goto out;
    }
  }
  if (opt.control) {
    ctl = ksb_control_new(cluster, opt.control_host, opt.control_port, errbuf, sizeof(errbuf));
    if (!ctl) {
      fprintf(stderr, PROG ": %s\n", errbuf);
      goto out;
    }
    snprintf(control_url, sizeof(control_url), "http://%s:%u", opt.control_host,
             (unsigned)ksb_control_port(ctl));
    if (opt.control_file) {
      if (write_file_atomic(opt.control_file, control_url) < 0)
        goto out;
      wrote_control = true;
    }
  }
  /* Last: a waiter on the bootstrap file finds everything else ready. */
  if (opt.bootstrap_file) {
    if (write_file_atomic(opt.bootstrap_file, ksb_cluster_bootstraps(cluster)) < 0)
      goto out;
    wrote_bootstrap = true;
  }
  fprintf(stderr, PROG ": ready: %d brokers, %d topics, bootstrap %s%s%s\n", opt.brokers,
          opt.topic_cnt, ksb_cluster_bootstraps(cluster), control_url[0] ? ", control " : "",
          control_url);

  for (;;) {
    if (sigwait(&sigs, &sig) == 0)
      break;
  }
  /* A second signal during shutdown ends the process at once. */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
  fprintf(stderr, PROG ": %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  rc = EXIT_SUCCESS;

out:
  ctl = ksb_control_destroy(ctl);
  cluster = ksb_cluster_destroy(cluster);
  if (wrote_bootstrap)
    unlink(opt.bootstrap_file);
  if (wrote_control)
    unlink(opt.control_file);
  return rc;
}
