package events

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snsWrap is body as SNS delivers it to a subscribed queue.
func snsWrap(t testing.TB, body []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"Type":      "Notification",
		"MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":  "arn:aws:sns:eu-west-1:111122223333:cloudtrail-calls",
		"Message":   string(body),
		"Timestamp": "2026-05-02T10:15:32.000Z",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit returns body with the detail's fields changed (nil deletes).
func edit(t testing.TB, body []byte, envelope, detail map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	set := func(into map[string]any, kv map[string]any) {
		for k, v := range kv {
			if v == nil {
				delete(into, k)
			} else {
				into[k] = v
			}
		}
	}
	set(m, envelope)
	if d, ok := m["detail"].(map[string]any); ok {
		set(d, detail)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCloudTrailEvents(t *testing.T) {
	createRoute := Event{
		ID: "b7f1d2c4-6a8e-4b3f-9c1d-2e3f4a5b6c7d", Source: SourceEC2, Name: "CreateRoute",
		AccountID: "111122223333", Region: "eu-west-1",
		Caller: "arn:aws:sts::111122223333:assumed-role/NetworkAdmin/alice",
		Time:   time.Date(2026, 5, 2, 10, 15, 29, 0, time.UTC),
	}
	stop := Event{
		ID: "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4", Source: SourceSageMaker, Name: "StopNotebookInstance",
		AccountID: "444455556666", Region: "us-east-1", Caller: "arn:aws:iam::444455556666:user/bob",
		Time: time.Date(2026, 5, 2, 11, 0, 4, 0, time.UTC), Resource: "research-nb",
	}
	failed := Event{
		ID: "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9", Source: SourceEC2, Name: "AuthorizeSecurityGroupEgress",
		AccountID: "111122223333", Region: "eu-west-1", Caller: "arn:aws:sts::111122223333:assumed-role/Developer/carol",
		Time: time.Date(2026, 5, 2, 12, 0, 59, 0, time.UTC), ErrorCode: "Client.UnauthorizedOperation",
	}
	crossAccount := createRoute
	crossAccount.AccountID, crossAccount.Region = "777788889999", "eu-central-1"
	fromEnvelope := createRoute
	fromEnvelope.ID, fromEnvelope.Time, fromEnvelope.Caller = "6a7e8feb-b491-4cf7-a9f1-bf3703467718", time.Date(2026, 5, 2, 10, 15, 31, 0, time.UTC), ""
	serviceCaller := stop
	serviceCaller.Caller = "sagemaker.amazonaws.com"
	tagNotebook := stop
	tagNotebook.Name, tagNotebook.Resource = "AddTags", "arn:aws:sagemaker:us-east-1:444455556666:notebook-instance/research-nb"
	tagModel := tagNotebook
	tagModel.Resource = "arn:aws:sagemaker:us-east-1:444455556666:model/churn"
	tagDomain := tagNotebook
	tagDomain.Resource = "arn:aws:sagemaker:us-east-1:444455556666:domain/d-abc123"
	updateDomain := stop
	updateDomain.Name, updateDomain.Resource = "UpdateDomain", "d-abc123"

	for _, tc := range []struct {
		name     string
		body     []byte
		want     Event
		relevant bool
	}{
		{"CreateRoute from ec2", readEvent(t, "createroute.json"), createRoute, true},
		{"StopNotebookInstance from sagemaker", readEvent(t, "stopnotebook.json"), stop, true},
		{"a failed call parses, and is not relevant", readEvent(t, "failed.json"), failed, false},
		{"SNS-wrapped", snsWrap(t, readEvent(t, "createroute.json")), createRoute, true},
		{"the account and region are those the call concerned", edit(t, readEvent(t, "createroute.json"), nil,
			map[string]any{"recipientAccountId": "777788889999", "awsRegion": "eu-central-1"}), crossAccount, true},
		{"the envelope fills what the detail lacks", edit(t, readEvent(t, "createroute.json"), nil,
			map[string]any{"recipientAccountId": nil, "awsRegion": nil, "eventID": nil, "eventTime": nil, "userIdentity": nil}), fromEnvelope, true},
		{"a service caller is named by invokedBy", edit(t, readEvent(t, "stopnotebook.json"), nil,
			map[string]any{"userIdentity": map[string]any{"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}}), serviceCaller, true},
		{"tags of a notebook instance are relevant", edit(t, readEvent(t, "stopnotebook.json"), nil,
			map[string]any{"eventName": "AddTags", "requestParameters": map[string]any{"resourceArn": tagNotebook.Resource, "tags": []any{}}}), tagNotebook, true},
		{"tags of a Studio domain are relevant", edit(t, readEvent(t, "stopnotebook.json"), nil,
			map[string]any{"eventName": "AddTags", "requestParameters": map[string]any{"resourceArn": tagDomain.Resource}}), tagDomain, true},
		{"a Studio domain update is relevant", edit(t, readEvent(t, "stopnotebook.json"), nil,
			map[string]any{"eventName": "UpdateDomain", "requestParameters": map[string]any{"domainId": "d-abc123"}}), updateDomain, true},
		{"tags of another SageMaker resource are not", edit(t, readEvent(t, "stopnotebook.json"), nil,
			map[string]any{"eventName": "AddTags", "requestParameters": map[string]any{"resourceArn": tagModel.Resource}}), tagModel, false},
		{"an event name outside the list", edit(t, readEvent(t, "createroute.json"), nil,
			map[string]any{"eventName": "RunInstances"}), func() Event { e := createRoute; e.Name = "RunInstances"; return e }(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if got.Relevant() != tc.relevant {
				t.Errorf("Relevant() = %v, want %v", got.Relevant(), tc.relevant)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	createRoute := readEvent(t, "createroute.json")
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"another detail-type", readEvent(t, "statechange.json"), ErrNotCloudTrail},
		{"another detail-type, SNS-wrapped", snsWrap(t, readEvent(t, "statechange.json")), ErrNotCloudTrail},
		{"empty", nil, ErrMalformed},
		{"garbage", []byte("\x00\xffnot json at all"), ErrMalformed},
		{"a JSON array", []byte(`[{"detail-type": "AWS API Call via CloudTrail"}]`), ErrMalformed},
		{"truncated", createRoute[:len(createRoute)/2], ErrMalformed},
		{"an S3 test event", []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-05-02T10:00:00.000Z","Bucket":"b"}`), ErrMalformed},
		{"SNS wrapping garbage", snsWrap(t, []byte("hello")), ErrMalformed},
		{"no detail", edit(t, createRoute, map[string]any{"detail": nil}, nil), ErrMalformed},
		{"detail not an object", edit(t, createRoute, map[string]any{"detail": "CreateRoute"}, nil), ErrMalformed},
		{"no event name", edit(t, createRoute, nil, map[string]any{"eventName": nil}), ErrMalformed},
		{"event name of the wrong type", edit(t, createRoute, nil, map[string]any{"eventName": 7}), ErrMalformed},
		{"no account anywhere", edit(t, createRoute, map[string]any{"account": nil}, map[string]any{"recipientAccountId": nil}), ErrMalformed},
		{"an account that is not one", edit(t, createRoute, nil, map[string]any{"recipientAccountId": "<script>"}), ErrMalformed},
		{"a region that is not one", edit(t, createRoute, nil, map[string]any{"awsRegion": "eu-west-1; rm -rf /"}), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %v", e, err, tc.want)
			}
			if e != (Event{}) {
				t.Errorf("an error came with an event: %+v", e)
			}
		})
	}
}

// FuzzParse: no input panics, every error is one of the two kinds, and an
// event Parse accepts names an account and region a rescan can use.
// Inputs the fuzzer found are kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"createroute.json", "stopnotebook.json", "failed.json", "statechange.json"} {
		b := readEvent(f, name)
		f.Add(b)
		f.Add(snsWrap(f, b))
	}
	f.Add([]byte(`{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":{}}`))
	f.Add([]byte(`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Parse(body)
		if err != nil {
			if errors.Is(err, ErrMalformed) == errors.Is(err, ErrNotCloudTrail) {
				t.Fatalf("error %v is not exactly one of ErrMalformed, ErrNotCloudTrail", err)
			}
			return
		}
		if !accountRE.MatchString(e.AccountID) || !regionRE.MatchString(e.Region) || e.Name == "" || e.Source == "" {
			t.Fatalf("accepted an unusable event %+v", e)
		}
		if strings.ContainsAny(e.AccountID+e.Region, "\n\r") {
			t.Fatalf("line break in account or region: %+v", e)
		}
		_ = e.Relevant()
	})
}
