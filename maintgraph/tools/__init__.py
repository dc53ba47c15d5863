"""CMMS tools the agent calls, and the CMMS backends behind them."""
