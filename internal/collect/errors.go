package collect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/aws/smithy-go"

	"github.com/sagefence/sagefence/internal/inventory"
)

// Codes for failures that are not AWS API errors.
const (
	// CodeCanceled: the collection was interrupted before the call completed.
	CodeCanceled = "Canceled"
	// CodeTimeout: the call (or the whole collection) ran out of time.
	CodeTimeout = "Timeout"
	// CodeNotFound: a call succeeded but did not return an object a
	// notebook references (a deleted subnet, for example).
	CodeNotFound = "NotFound"
	// CodeSharedVPC: the VPC belongs to another account, which shares its
	// subnets with the one read (AWS RAM): its NAT gateways, gateways and
	// transit gateway attachments are visible only to the owner.
	CodeSharedVPC = "SharedVPC"
	// CodeNotRead: a path leads through the object, but the follow-up
	// phase stopped (after maxFollowUpRounds) before reading it.
	CodeNotRead = "NotRead"
)

// collectError turns a failed call into an inventory error: the API error
// code and message when AWS answered, else a code for cancellation or a
// timeout and the error text.
func collectError(account, region, op, resource string, err error) inventory.CollectError {
	ce := inventory.CollectError{AccountID: account, Region: region, Operation: op, Resource: resource}
	var api smithy.APIError
	var timeout interface{ Timeout() bool }
	switch {
	case errors.As(err, &api):
		ce.Code = api.ErrorCode()
		ce.Message = api.ErrorMessage()
		if ce.Message == "" {
			ce.Message = err.Error()
		}
		return ce
	case errors.Is(err, context.Canceled):
		ce.Code = CodeCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		ce.Code = CodeTimeout
	}
	ce.Message = err.Error()
	return ce
}

// recorder collects the errors of one region from concurrent calls.
type recorder struct {
	account, region string

	mu   sync.Mutex
	errs []inventory.CollectError
}

// fail records a failed call; resource is empty when the failure means
// every object of the operation's kind is missing.
func (r *recorder) fail(op, resource string, err error) {
	r.add(collectError(r.account, r.region, op, resource, err))
}

// missing records an object a notebook references that a successful call
// did not return.
func (r *recorder) missing(op, resource, what string) {
	r.add(inventory.CollectError{
		AccountID: r.account, Region: r.region, Operation: op, Resource: resource,
		Code: CodeNotFound, Message: what + " " + resource + " was not returned: it may have been deleted",
	})
}

// add records ce unless a failure of the same operation about the same
// resource is already recorded: a read that fails in two rounds (the
// notebooks' subnets, then their VPCs' subnets) says nothing more the
// second time.
func (r *recorder) add(ce inventory.CollectError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.errs, func(e inventory.CollectError) bool {
		return e.Operation == ce.Operation && e.Resource == ce.Resource
	}) {
		return
	}
	r.errs = append(r.errs, ce)
}

// notebookError builds a notebook's own error.
func (r *recorder) notebookError(op, name string, err error) *inventory.CollectError {
	ce := collectError(r.account, r.region, op, name, err)
	return &ce
}

// list returns the recorded errors in a stable order.
func (r *recorder) list() []inventory.CollectError {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.errs)
	slices.SortStableFunc(out, func(a, b inventory.CollectError) int {
		if c := strings.Compare(a.Operation, b.Operation); c != 0 {
			return c
		}
		return strings.Compare(a.Resource, b.Resource)
	})
	return out
}
