#!/bin/bash
# A Node.js app server whose user data asks for the region with node's http module.
curl -fsSL https://rpm.nodesource.com/setup_18.x | bash -
yum install -y nodejs
node <<'JS'
const http = require("http");
http.get("http://169.254.169.254/latest/meta-data/placement/region", (res) => {  // imds-expect: IMDS007@1
  let body = "";
  res.on("data", (chunk) => (body += chunk));
  res.on("end", () => require("fs").writeFileSync("/etc/app/region", body));
});
JS
