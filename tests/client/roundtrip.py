"""A round trip through the gateway with a Python client generated from its /openapi.json by
openapi-python-client (a standard generator): log in, create a store and a product, stock in, sell,
read the level. Run by deploy/local/test.sh after generating the client into a temporary folder on
sys.path; any drift between the document and what the API answers fails here.

    python3 roundtrip.py GATEWAY_URL USERNAME PASSWORD
"""
import sys
import uuid
from http import HTTPStatus

from inventory_client import AuthenticatedClient, Client
from inventory_client.api.auth import auth_login
from inventory_client.api.movements import stock_movements_create
from inventory_client.api.products import products_create, products_get
from inventory_client.api.stock import stock_add, stock_levels_list
from inventory_client.api.stores import stores_create
from inventory_client.models import (
    AddStock,
    LoginRequest,
    MovementInput,
    MovementRecorded,
    PageStockLevel,
    PostedMovementType,
    ProductBody,
    ProductView,
    StockLevel,
    StoreBody,
    StoreView,
    TokenPair,
)


def expect(response, status, model):
    """The parsed body of `response`, which must have `status` and parse as `model`."""
    assert response.status_code == status, f"{status} expected, got {response.status_code}: {response.content!r}"
    assert isinstance(response.parsed, model), f"{model.__name__} expected, got {response.parsed!r}"
    return response.parsed


def main(gateway: str, username: str, password: str) -> None:
    anonymous = Client(base_url=gateway, raise_on_unexpected_status=True)
    pair = expect(
        auth_login.sync_detailed(client=anonymous, body=LoginRequest(username=username, password=password)),
        HTTPStatus.OK,
        TokenPair,
    )
    api = AuthenticatedClient(base_url=gateway, token=pair.access_token, raise_on_unexpected_status=True)
    suffix = uuid.uuid4().hex[:12]
    store = expect(stores_create.sync_detailed(client=api, body=StoreBody(name=f"Client store {suffix}")),
                   HTTPStatus.CREATED, StoreView)
    product = expect(
        products_create.sync_detailed(
            client=api, body=ProductBody(sku=f"CLIENT-{suffix}", name="Client product", price_cents=250)
        ),
        HTTPStatus.CREATED,
        ProductView,
    )
    again = expect(products_get.sync_detailed(product.id, client=api), HTTPStatus.OK, ProductView)
    assert again.sku == f"CLIENT-{suffix}" and again.price_cents == 250, again
    level = expect(
        stock_add.sync_detailed(client=api, body=AddStock(store_id=store.id, product_id=product.id, quantity=10)),
        HTTPStatus.CREATED,
        StockLevel,
    )
    assert level.quantity == 10, level
    sale = expect(
        stock_movements_create.sync_detailed(
            client=api,
            body=MovementInput(store_id=store.id, product_id=product.id, type_=PostedMovementType.SALE, quantity=3),
        ),
        HTTPStatus.CREATED,
        MovementRecorded,
    )
    assert sale.movement.delta == -3 and sale.level.quantity == 7, sale
    page = expect(stock_levels_list.sync_detailed(store.id, client=api), HTTPStatus.OK, PageStockLevel)
    assert [(item.product_id, item.quantity) for item in page.items] == [(product.id, 7)], page
    assert all(isinstance(item, StockLevel) for item in page.items), "page items are the StockLevel model"
    print("client round trip: login, store, product, stock-in, sale and level read all match the document")


if __name__ == "__main__":
    main(*sys.argv[1:4])
