resource "aws_iam_service_linked_role" "fine" {
  aws_service_name = "autoscaling.amazonaws.com"
}
