from tests.mock_exchange.engine.world import world

__all__ = ["world"]
