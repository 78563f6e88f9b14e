// Package ident reads the instance id with a session token.
package ident

import (
	"io"
	"net/http"
)

func InstanceID() (string, error) {
	put, _ := http.NewRequest(http.MethodPut, "http://169.254.169.254/latest/api/token", nil)
	put.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	tokenResp, err := http.DefaultClient.Do(put)
	if err != nil {
		return "", err
	}
	defer tokenResp.Body.Close()
	token, _ := io.ReadAll(tokenResp.Body)

	req, _ := http.NewRequest(http.MethodGet, "http://169.254.169.254/latest/meta-data/instance-id", nil)
	req.Header.Set("X-aws-ec2-metadata-token", string(token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
