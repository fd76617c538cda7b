"""HTTP views of the quota service (thin: they check input and scope, then call the service layer)."""
blueprints = []
