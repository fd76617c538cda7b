"""HTTP views of the notifications service (thin: they check input and scope, then call the service layer)."""
blueprints = []
