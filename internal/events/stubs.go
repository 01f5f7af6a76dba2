package events

import (
	"errors"
)

// Not built yet: the set-up templates.

func CloudFormation(org bool) ([]byte, error) { return nil, errors.New("events: not implemented") }

func Terraform(org bool) ([]byte, error) { return nil, errors.New("events: not implemented") }
