variable "environment" { default = "dev" }

locals {
  private = var.environment == "prod"
}

resource "aws_subnet" "private" {
  vpc_id     = "vpc-0123456789abcdef0"
  cidr_block = "10.0.1.0/24"
}

# Omitted attribute: the API default is Enabled (Checkov CKV_AWS_122 passes this).
resource "aws_sagemaker_notebook_instance" "default_access" {
  name          = "default-access"
  instance_type = "ml.t3.medium"
  role_arn      = "arn:aws:iam::111111111111:role/sagemaker"
}

resource "aws_sagemaker_notebook_instance" "private" {
  name                   = "private"
  instance_type          = "ml.t3.medium"
  role_arn               = "arn:aws:iam::111111111111:role/sagemaker"
  direct_internet_access = local.private ? "Disabled" : "Disabled"
  subnet_id              = aws_subnet.private.id
}

# sagefence:ignore sagemaker-notebook-no-direct-internet-access reason="public training lab, no data (SEC-1234)"
resource "aws_sagemaker_notebook_instance" "lab" {
  name                   = "lab"
  instance_type          = "ml.t3.medium"
  role_arn               = "arn:aws:iam::111111111111:role/sagemaker"
  direct_internet_access = "Enabled"
}

module "team" {
  source                 = "../modules/notebook"
  name                   = "team-${var.environment}"
  direct_internet_access = local.private ? "Disabled" : "Enabled"
}
