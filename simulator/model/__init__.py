"""One replication: the SimPy engine, policies, suppliers, buying, the purchase plan."""
