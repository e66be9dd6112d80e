variable "extra" {
  default = [
    "secruityhub.amazonaws.com", # a typo in a variable default is fixed where it is written
  ]
}

resource "aws_organizations_organization" "org" {
  aws_service_access_principals = concat(var.extra, [
    "guardduty.amazonaws.com",
    "config",
    "guardduty.amazonaws.com",
    "unknownservice.amazonaws.com",
  ])
}
