package permissions

import (
	"context"
	"slices"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// OperationName maps an SDK operation, named by the client's service ID
// (the SDK's ServiceID constant: "EC2", "SageMaker", "S3", ...) and the
// operation name, to the IAM action that authorizes it. For nearly every
// operation that is the service prefix and the same name; the exceptions
// are the S3 operations IAM authorizes under another action.
func OperationName(service, op string) string {
	prefix := strings.ToLower(strings.ReplaceAll(service, " ", ""))
	if prefix == "s3" {
		switch op {
		case "ListObjectsV2", "ListObjects", "HeadBucket":
			op = "ListBucket"
		case "HeadObject":
			op = "GetObject"
		case "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload":
			op = "PutObject"
		case "ListObjectVersions":
			op = "ListBucketVersions"
		}
	}
	return prefix + ":" + op
}

// Recorder records every AWS operation the SDK clients built from one
// aws.Config invoke, as IAM action names. Install it before creating the
// clients:
//
//	rec := permissions.NewRecorder()
//	cfg.APIOptions = append(cfg.APIOptions, rec.APIOption)
//
// then run the code under test and assert rec.Missing(mode) is empty. An
// operation is recorded when it is invoked, whether or not it succeeds, so
// a denied or failing call still counts. Safe for concurrent use.
type Recorder struct {
	mu  sync.Mutex
	ops map[string]int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{ops: map[string]int{}} }

// recorderID names the middleware in the SDK stack.
const recorderID = "sagefence.permissions.Recorder"

// APIOption adds the recording middleware to an operation's stack. It has
// the signature of an aws.Config.APIOptions entry.
func (r *Recorder) APIOption(stack *middleware.Stack) error {
	// Initialize runs once per operation (not per retry attempt); the
	// service ID and operation name are already in the context there.
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(recorderID,
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			r.record(ctx)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (r *Recorder) record(ctx context.Context) {
	service := middleware.GetServiceID(ctx)
	if service == "" {
		service = awsmiddleware.GetServiceID(ctx)
	}
	op := middleware.GetOperationName(ctx)
	if op == "" {
		op = awsmiddleware.GetOperationName(ctx)
	}
	if service == "" || op == "" {
		// Record it anyway, so a test cannot pass by losing track.
		service, op = "unknown", service+op
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops[OperationName(service, op)]++
}

// Operations returns the IAM actions recorded so far, sorted.
func (r *Recorder) Operations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.ops))
	for k := range r.ops {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Count returns how often the IAM action (as OperationName spells it) was
// recorded.
func (r *Recorder) Count(action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ops[action]
}

// Missing returns the recorded actions that Actions(mode) does not list
// (optional features included), sorted. An empty result means the policy
// for mode covers everything the code under test called.
func (r *Recorder) Missing(mode Mode) []string {
	listed := map[string]bool{}
	for _, a := range Actions(mode) {
		listed[strings.ToLower(a.String())] = true
	}
	var out []string
	for _, op := range r.Operations() {
		if !listed[strings.ToLower(op)] {
			out = append(out, op)
		}
	}
	return out
}
