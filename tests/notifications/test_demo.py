"""The demo loader, through the API of a real server on a free port: idempotent, and patient with a
tree that is still arriving from the quota service."""
import threading

import pytest

from tests.support import org_state
from werkzeug.serving import make_server

from services.notifications import demo, tree
from services.notifications.app import create_app

pytestmark = pytest.mark.integration


def test_demo_subscriptions_load_once_after_the_tree_arrives(db, settings, token):
    httpd = make_server("127.0.0.1", 0, create_app(settings, db=db), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    urls = {"notifications": f"http://127.0.0.1:{httpd.server_port}"}
    bearer = token()["Authorization"].split(" ", 1)[1]

    def tree_arrives_late():
        with db.transaction() as session:
            tree.REPLICA.apply(session, org_state("TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province", None))
            tree.REPLICA.apply(session, org_state("TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city",
                                                  "TINH-THANH-HOA"))

    timer = threading.Timer(1.0, tree_arrives_late)
    timer.start()
    try:
        assert demo.load(urls=urls, token=bearer) == {"subscriptions": 2}
        assert demo.load(urls=urls, token=bearer) == {"subscriptions": 0}
        with pytest.raises(Exception):
            demo.load(urls=urls, token=token("P-DONG-SON", "viewer")["Authorization"].split(" ", 1)[1])
    finally:
        timer.join()
        httpd.shutdown()
