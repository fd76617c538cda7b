import pytest

from tests.candidates.factories import make_app


@pytest.fixture
def app(database_url, namespace):
    app = make_app(database_url, namespace=namespace)
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["db"]
