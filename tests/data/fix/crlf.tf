resource "aws_organizations_organization" "crlf" {
  aws_service_access_principals = ["sso.amazonaws.com", "config.amazonaw.com", "sso.amazonaws.com"]  # keep this comment
}

resource "aws_iam_service_linked_role" "gd" {
  aws_service_name = "GuardDuty.amazonaws.com" # trailing
}
