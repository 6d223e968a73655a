"""Compatibility surfaces for teams moving to Pushport: PowerAuth Push Server, Momentum MCMT."""
