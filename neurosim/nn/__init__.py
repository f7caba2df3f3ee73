"""The network: the rule table, formats and LUTs, and the float, fixed and conv engines."""
