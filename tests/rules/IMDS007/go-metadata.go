// Package ident reads the instance id the IMDSv1 way.
package ident

import (
	"io"
	"net/http"
)

func InstanceID() (string, error) {
	resp, err := http.Get("http://169.254.169.254/latest/meta-data/instance-id") // imds-expect: IMDS007@15
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
