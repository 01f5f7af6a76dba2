package iac

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const benchVariables = `variable "environment" {
  type    = string
  default = "dev"
}

variable "instance_type" {
  type    = string
  default = "ml.t3.medium"
}

variable "subnet_ids" {
  type    = list(string)
  default = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
}
`

const benchMain = `locals {
  private = var.environment == "prod" || %d %% 3 == 0
  name    = "team-%d-${var.environment}"
  tags    = { team = "team-%d", env = var.environment }
}

resource "aws_s3_bucket" "data" {
  bucket = "${local.name}-data"
  tags   = local.tags
}

resource "aws_iam_role" "notebook" {
  name               = "${local.name}-notebook"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}

resource "aws_sagemaker_notebook_instance" "nb" {
  name                   = local.name
  role_arn               = aws_iam_role.notebook.arn
  instance_type          = var.instance_type
  direct_internet_access = local.private ? "Disabled" : "Enabled"
  subnet_id              = element(var.subnet_ids, %d)
  tags                   = local.tags
}
`

const benchYAML = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Environment: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Subnet: {Type: "AWS::EC2::Subnet::Id"}
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "team-%d-${Environment}"
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
  Notebook:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      NotebookInstanceName: !Sub "team-%d"
      InstanceType: ml.t3.medium
      RoleArn: !GetAtt Role.Arn
      DirectInternetAccess: !If [IsProd, Disabled, Enabled]
      SubnetId: !Ref Subnet
`

const benchJSON = `{
  "Resources": {
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "team-%d"}},
    "Notebook%d": {
      "Type": "AWS::SageMaker::NotebookInstance",
      "Properties": {
        "InstanceType": "ml.t3.medium",
        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
        "DirectInternetAccess": "Disabled",
        "SubnetId": {"Fn::ImportValue": "private-subnet"}
      },
      "Metadata": {"aws:cdk:path": "Stack%d/Notebook/Resource"}
    }
  }
}
`

// writeCorpus writes n files: a quarter Terraform root modules of two
// files each, a quarter YAML and a quarter JSON templates.
func writeCorpus(tb testing.TB, dir string, n int) {
	tb.Helper()
	for i := 0; i < n/4; i++ {
		tf := filepath.Join(dir, "terraform", fmt.Sprintf("team-%05d", i))
		must(tb, os.MkdirAll(tf, 0o755))
		must(tb, os.WriteFile(filepath.Join(tf, "variables.tf"), []byte(benchVariables), 0o644))
		must(tb, os.WriteFile(filepath.Join(tf, "main.tf"), []byte(fmt.Sprintf(benchMain, i, i, i, i%2)), 0o644))
	}
	cfn := filepath.Join(dir, "cloudformation")
	must(tb, os.MkdirAll(cfn, 0o755))
	for i := 0; i < n/4; i++ {
		must(tb, os.WriteFile(filepath.Join(cfn, fmt.Sprintf("team-%05d.yaml", i)), []byte(fmt.Sprintf(benchYAML, i, i)), 0o644))
		must(tb, os.WriteFile(filepath.Join(cfn, fmt.Sprintf("team-%05d.template.json", i)), []byte(fmt.Sprintf(benchJSON, i, i, i)), 0o644))
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// liveHeap is the heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// peakHeap samples the live heap while f runs.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkScan scans generated corpora of 1,000 and 10,000 files and
// reports the peak live heap: it should grow with the results (a few
// hundred bytes each), not with the parsed files.
func BenchmarkScan(b *testing.B) {
	comp, err := Compliance()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeCorpus(b, dir, n)
			sc := New(Options{Compliance: comp})
			var peak, retained uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var results int
				base := liveHeap()
				p := peakHeap(func() {
					res, errs, err := sc.Scan(context.Background(), []string{dir})
					if err != nil || len(errs) > 0 {
						b.Fatalf("scan: %v %v", err, errs)
					}
					results = len(res)
					// What the results alone keep alive.
					retained = max(retained, liveHeap()-base)
					runtime.KeepAlive(res)
				})
				peak = max(peak, p-min(p, base))
				if results != 3*n/4 {
					b.Fatalf("%d results, want %d", results, 3*n/4)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(retained)/(1<<20), "results-heap-MiB")
			b.ReportMetric(float64(peak-min(peak, retained))/(1<<20), "working-heap-MiB")
		})
	}
}
