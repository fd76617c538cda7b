"""HTTP views of the candidates service (thin: they check input and scope, then call the service layer)."""
blueprints = []
