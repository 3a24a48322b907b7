"""Master data for clients: counties, townships, categories, depots (with the township
stock points) and items, by code."""

from __future__ import annotations

from flask.views import MethodView

from relief_inventory.api.common import protected_blueprint, read_session
from relief_inventory.stock import queries as stock_queries
from relief_inventory.warehouse import queries as warehouse_queries
from schemas.stock import CategorySchema, CountySchema, DepotSchema, ItemSchema, TownshipSchema

blp = protected_blueprint("master", __name__, "", "主数据：县市、乡镇、类别、仓库及预置点、物资")


@blp.route("/counties")
class Counties(MethodView):
    @blp.response(200, CountySchema(many=True))
    def get(self) -> list:
        """Active counties in code order; coordinates are exact strings."""
        with read_session() as session:
            return warehouse_queries.county_rows(session)


@blp.route("/townships")
class Townships(MethodView):
    @blp.response(200, TownshipSchema(many=True))
    def get(self) -> list:
        """Active townships (乡镇) with their county, high-risk mark and stock points."""
        with read_session() as session:
            return warehouse_queries.township_rows(session)


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self) -> list:
        """Active categories in display order."""
        with read_session() as session:
            return stock_queries.category_rows(session)


@blp.route("/depots")
class Depots(MethodView):
    @blp.response(200, DepotSchema(many=True))
    def get(self) -> list:
        """Active depots and township stock points (``parent`` set) with their county,
        level, address, coordinates and keeper."""
        with read_session() as session:
            return warehouse_queries.depot_rows(session)


@blp.route("/items")
class Items(MethodView):
    @blp.response(200, ItemSchema(many=True))
    def get(self) -> list:
        """Active items with their category; unit_value is an exact string ("1450.00")."""
        with read_session() as session:
            return stock_queries.item_rows(session)
