"""A test peer that accepts only correctly signed AWS SigV4 requests.

Each request's signature is recomputed with botocore (the AWS SDK's own
implementation) over exactly the headers the request says it signed, with
the credentials given on the command line; a request whose signature
differs, or that signed no host or date, is refused with 403. Prints
"listening on PORT" once it serves on 127.0.0.1.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY, SECRET = sys.argv[1], sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def verify(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return self.answer(403, {"error": "not signed with SigV4", "authorization": authorization})
        fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 "):].split(","))
        key, date, region, service, _ = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        if key != ACCESS_KEY or "host" not in signed or "x-amz-date" not in signed:
            return self.answer(403, {"error": "wrong key, or host or date unsigned", "signed": signed})
        headers = {name: self.headers[name] for name in signed if self.headers.get(name) is not None}
        request = AWSRequest(method=self.command, url="http://" + self.headers["Host"] + self.path, data=body, headers=headers)
        request.context["timestamp"] = self.headers["X-Amz-Date"]
        signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if expected != fields["Signature"]:
            return self.answer(403, {"error": "signature does not match", "canonical": canonical})
        self.answer(200, {"verified": True, "service": service, "region": region, "signed": signed,
                          "body": body.decode(errors="replace")})

    do_GET = do_POST = do_PUT = do_DELETE = verify


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening on", server.server_address[1], flush=True)
server.serve_forever()
