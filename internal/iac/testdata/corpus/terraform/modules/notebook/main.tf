variable "name" { type = string }
variable "direct_internet_access" {
  type    = string
  default = "Disabled"
}
variable "subnet_id" {
  type    = string
  default = null
}

resource "aws_sagemaker_notebook_instance" "this" {
  name                   = var.name
  instance_type          = "ml.t3.medium"
  role_arn               = "arn:aws:iam::111111111111:role/sagemaker"
  direct_internet_access = var.direct_internet_access
  subnet_id              = var.subnet_id
}
