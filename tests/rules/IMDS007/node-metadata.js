// Reads the instance id for the app's log lines (IMDSv1).
const http = require("http");

async function instanceId() {
  const res = await fetch("http://169.254.169.254/latest/meta-data/instance-id");  // imds-expect: IMDS007@21
  return (await res.text()).trim();
}

module.exports = { instanceId };
