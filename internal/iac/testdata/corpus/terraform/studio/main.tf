variable "network_access" {
  type    = string
  default = "vpconly"
}

resource "aws_sagemaker_domain" "team" {
  domain_name             = "team"
  auth_mode               = "IAM"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0"]
  app_network_access_type = var.network_access

  default_user_settings {
    execution_role = "arn:aws:iam::111111111111:role/studio"
  }
}
