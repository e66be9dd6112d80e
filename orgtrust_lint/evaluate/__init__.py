"""Static evaluation of Terraform expressions (values with provenance, "may" and "must")."""
