"""A subscriber's webhook receiver: verify, dedupe by webhook-id, answer 2xx fast.

    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py [PORT]

The secret is the one the endpoint was registered with (`PUT /subscribers/{id}/endpoint`).
"""

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
seen: set[str] = set()  # in production: a table with a unique key on webhook-id


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        try:
            notification = webhook.verify(body, dict(self.headers))  # signature and timestamp
        except WebhookVerificationError:
            self.send_response(401)
        else:
            msg_id = self.headers["webhook-id"]  # the same at every retry of one notification
            if msg_id in seen:  # a retry of what was already processed: answer, do nothing
                print("again:", msg_id, flush=True)
            else:
                seen.add(msg_id)
                print("new post:", notification["data"]["title"], msg_id, flush=True)
            self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    # Where the native stack lets webhooks go: its own parts listen on 127.0.0.1, which a
    # subscriber's endpoint may not name (SUBSCRIBE_WEBHOOK_ALLOWED_NETWORKS).
    server = ThreadingHTTPServer(("127.0.0.2", port), Receiver)
    print(f"receiver listening on http://127.0.0.2:{port}", flush=True)
    server.serve_forever()
