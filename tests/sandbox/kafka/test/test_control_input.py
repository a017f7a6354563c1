"""The kafka-sandbox control API refuses bad input with a JSON error (400
bad parameter, 404 unknown path or resource, 405 wrong method) and leaves
the cluster untouched."""

import ksb
from ksb import check

# method, path, expected status, words the error message must contain
BAD = [
    ("POST", "/brokers/x/down", 400, "unknown broker"),
    ("POST", "/brokers/0/down", 400, "unknown broker"),
    ("POST", "/brokers/4/up", 400, "brokers are 1..3"),
    ("POST", "/brokers/-1/down", 400, "unknown broker"),
    ("POST", "/brokers/1/rtt", 400, 'missing parameter "ms"'),
    ("POST", "/brokers/1/rtt?ms=-5", 400, '"ms"'),
    ("POST", "/brokers/1/rtt?ms=abc", 400, '"ms"'),
    ("POST", "/brokers/1/rtt?ms=60001", 400, "0..60000"),
    ("POST", "/brokers/1/rtt?ms=5&extra=1", 400, 'unknown parameter "extra"'),
    ("POST", "/brokers/all/errors?api=Produce&error=_TRANSPORT", 400,
     "unknown broker"),
    ("POST", "/brokers/1/errors?api=Produce&error=NO_ERROR,NO_ERROR"
     "&rtt=1,2,3", 400, '"rtt"'),
    ("POST", "/brokers/1/errors?api=Produce&error=NO_ERROR&rtt=x", 400,
     '"rtt"'),
    ("GET", "/brokers/1/errors", 400, 'missing parameter "api"'),
    ("POST", "/errors", 400, 'missing parameter "api"'),
    ("POST", "/errors?api=Nope&error=NOT_COORDINATOR", 400, '"api"'),
    ("POST", "/errors?api=100&error=1", 400, '"api"'),
    ("POST", "/errors?api=Produce", 400, 'missing parameter "error"'),
    ("POST", "/errors?api=Produce&error=NOT_A_REAL_ERROR", 400,
     "NOT_A_REAL_ERROR"),
    ("POST", "/errors?api=Produce&error=NOT_COORDINATOR,,_TRANSPORT", 400,
     '"error"'),
    ("POST", "/errors?api=Produce&error=99999", 400, "99999"),
    ("POST", "/errors?api=Produce&error=NOT_COORDINATOR&count=0", 400,
     '"count"'),
    ("POST", "/errors?api=Produce&error=NOT_COORDINATOR&count=1001", 400,
     "1..1000"),
    ("POST", "/errors?api=Produce&error=" + ",".join(["_TRANSPORT"] * 20)
     + "&count=1000", 400, "too many errors"),
    ("POST", "/errors?api=Produce&error=" + ",".join(["_TRANSPORT"] * 65),
     400, "more than 64"),
    ("POST", "/errors?api=Produce&error=_TRANSPORT&cnt=3", 400,
     'unknown parameter "cnt"'),
    ("DELETE", "/errors", 400, 'missing parameter "api"'),
    ("POST", "/coordinator?key=g&broker=9", 400, '"broker"'),
    ("POST", "/coordinator?type=cluster&key=g&broker=1", 400,
     "coordinator type"),
    ("POST", "/coordinator?broker=1", 400, 'missing parameter "key"'),
    ("POST", "/coordinator?key=g", 400, 'missing parameter "broker"'),
    ("POST", "/topics?name=bad%2Fname&partitions=1", 400, "topic name"),
    ("POST", "/topics?name=..&partitions=1", 400, "topic name"),
    ("POST", "/topics?name=" + "x" * 250 + "&partitions=1", 400,
     "topic name"),
    ("POST", "/topics?name=ok&partitions=0", 400, '"partitions"'),
    ("POST", "/topics?name=ok&partitions=1001", 400, "1..1000"),
    ("POST", "/topics?partitions=1", 400, 'missing parameter "name"'),
    ("POST", "/topics?name=ok", 400, 'missing parameter "partitions"'),
    ("POST", "/topics?name=ok&partitions=1&replication=1", 400,
     'unknown parameter "replication"'),
    ("POST", "/topics/t/error?error=BOGUS", 400, "BOGUS"),
    ("POST", "/topics/t/error", 400, 'missing parameter "error"'),
    ("POST", "/partitions/t/x/leader?broker=1", 400, "invalid partition"),
    ("POST", "/partitions/t/0/leader?broker=7", 400, '"broker"'),
    ("POST", "/partitions/t/0/leader", 400, 'missing parameter "broker"'),
    ("GET", "/status?verbose=1", 400, 'unknown parameter "verbose"'),
    # unknown paths and resources
    ("GET", "/nope", 404, "unknown path"),
    ("GET", "/brokers", 404, "unknown path"),
    ("POST", "/brokers/1/sideways", 404, "unknown path"),
    ("GET", "/status/extra/segments/that/are/too/many", 404, "unknown path"),
    ("GET", "//status", 404, "unknown path"),
    ("POST", "/partitions/unknown/0/leader?broker=1", 404, "unknown topic"),
    ("POST", "/partitions/t/1/leader?broker=1", 404, "partitions are 0..0"),
    ("POST", "/topics/unknown/error?error=1", 404, "unknown topic"),
    ("POST", "/topics/t/other", 404, "unknown path"),
    # wrong methods
    ("POST", "/status", 405, "use GET"),
    ("GET", "/brokers/1/down", 405, "use POST"),
    ("PUT", "/errors?api=Produce", 405, "POST, DELETE"),
    ("DELETE", "/topics", 405, "use POST"),
    ("GET", "/coordinator?key=g&broker=1", 405, "use POST"),
]


def bad_input_is_refused():
    with ksb.Sandbox(brokers=3, topics=["t:1"]) as sb:
        before = sb.call("GET", "/status")
        for method, path, status, words in BAD:
            doc = sb.call(method, path, status)
            check(words in doc["error"],
                  f"{method} {path}: error {doc['error']!r} lacks {words!r}")
            check(doc["error"][0].islower() or doc["error"][0] in '"',
                  f"{method} {path}: error not lowercase: {doc['error']!r}")
        after = sb.call("GET", "/status")
        check(before == after, f"status changed: {before} -> {after}")
        # No error was pushed by the refused calls.
        evs = ksb.produce(sb, "t", count=3, retries=0)
        check(all(e["error"] is None for e in evs), f"produce {evs}")
        # The Allow header names the methods of a 405.
        import urllib.request
        import urllib.error
        try:
            urllib.request.urlopen(urllib.request.Request(
                sb.base_url + "/errors?api=0", method="GET"), timeout=10)
            raise ksb.TestFailure("GET /errors accepted")
        except urllib.error.HTTPError as e:
            check(e.code == 405 and e.headers.get("Allow") == "POST, DELETE",
                  f"405 Allow header {e.headers.get('Allow')!r}")


def request_body_is_ignored():
    with ksb.Sandbox(brokers=1, topics=["t:1"]) as sb:
        status, doc = sb.request("POST", "/brokers/1/rtt?ms=7",
                                 data=b'{"ms": 9999}' * 1000)
        check(status == 200 and doc["rtt_ms"] == 7, f"answer {doc}")
        check(sb.call("GET", "/status")["brokers"][0]["rtt_ms"] == 7,
              "rtt not set")


if __name__ == "__main__":
    ksb.main({f.__name__: f for f in (bad_input_is_refused,
                                      request_body_is_ignored)})
