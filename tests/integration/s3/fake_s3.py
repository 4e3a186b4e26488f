#!/usr/bin/env python3
"""An S3 endpoint that fails, for the error paths a real server cannot be
made to produce on demand: fake_s3.py PORT MODE COUNTFILE.
  slowdown  every request gets 503 SlowDown
  slow      every request waits 30 s before its answer
  lax       keeps objects in memory (PUT, ranged GET, HEAD, DELETE,
            ListObjectsV2, DeleteObjects, no uploads) and, like some S3 servers,
            ignores If-None-Match: it overwrites. DeleteObjects answers
            <Error> AccessDenied for every key that contains a line of
            COUNTFILE.fail (when that file exists), and leaves it; a
            missing or wrong Content-MD5 is 400 BadDigest.
Each request's method is appended to COUNTFILE. Loopback only."""
import base64, hashlib, http.server, re, sys, time, urllib.parse
from xml.sax.saxutils import escape

port, mode, countfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def listing(self, bucket, query):
        prefix = query.get("prefix", [""])[0]
        after = query.get("continuation-token", [""])[0]
        keys = sorted(k[len(bucket) + 1:] for k in objects if k.startswith(bucket + "/"))
        keys = [k for k in keys if k.startswith(prefix) and k > after]
        page, more = keys[:1000], len(keys) > 1000
        out = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>',
               "<IsTruncated>%s</IsTruncated>" % ("true" if more else "false")]
        for k in page:
            out.append("<Contents><Key>%s</Key><Size>%d</Size></Contents>"
                       % (escape(k), len(objects[bucket + "/" + k])))
        if more:
            out.append("<NextContinuationToken>%s</NextContinuationToken>" % escape(page[-1]))
        out.append("</ListBucketResult>")
        return self.send(200, "".join(out).encode())

    def delete_objects(self, bucket, body):
        # As AWS S3 does: Content-MD5 is required and checked (radosgw 16
        # checks neither).
        if self.headers.get("Content-MD5") != base64.b64encode(hashlib.md5(body).digest()).decode():
            return self.send(400, b"<Error><Code>BadDigest</Code></Error>")
        try:
            fail = [l for l in open(countfile + ".fail").read().split() if l]
        except OSError:
            fail = []
        out = ['<?xml version="1.0" encoding="UTF-8"?><DeleteResult>']
        for k in re.findall(r"<Key>([^<]*)</Key>", body.decode()):
            if any(f in k for f in fail):
                out.append("<Error><Key>%s</Key><Code>AccessDenied</Code>"
                           "<Message>Access Denied</Message></Error>" % k)
                continue
            objects.pop(bucket + "/" + k, None)
            out.append("<Deleted><Key>%s</Key></Deleted>" % k)
        out.append("</DeleteResult>")
        return self.send(200, "".join(out).encode())

    def lax(self, body):
        key, _, q = self.path.partition("?")
        query = urllib.parse.parse_qs(q, keep_blank_values=True)
        if self.command == "GET" and "list-type" in query:
            return self.listing(key.rstrip("/"), query)
        if self.command == "GET" and "uploads" in query:
            return self.send(200, b'<?xml version="1.0" encoding="UTF-8"?>'
                             b"<ListMultipartUploadsResult><IsTruncated>false"
                             b"</IsTruncated></ListMultipartUploadsResult>")
        if self.command == "POST" and "delete" in query:
            return self.delete_objects(key.rstrip("/"), body)
        if self.command == "PUT":
            objects[key] = body
            return self.send(200, headers=(("ETag", '"%d-%d"' % (len(body), hash(body) & 0xffff)),))
        if key not in objects:
            return self.send(404, b"<Error><Code>NoSuchKey</Code></Error>")
        data = objects[key]
        if self.command == "DELETE":
            del objects[key]
            return self.send(204)
        etag = ("ETag", '"%d-%d"' % (len(data), hash(data) & 0xffff))
        rng = self.headers.get("Range")
        if rng and self.command == "GET":
            a, b = rng.split("=")[1].split("-")
            a, b = int(a), min(int(b), len(data) - 1)
            return self.send(206, data[a:b + 1], (etag, ("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))))
        return self.send(200, data, (etag,))

    def answer(self):
        with open(countfile, "a") as f:
            f.write(self.command + "\n")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if mode == "lax":
            return self.lax(body)
        if mode == "slow":
            time.sleep(30)
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown'
                b'</Code><Message>Please reduce your request rate.</Message></Error>')
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer


objects = {}
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
