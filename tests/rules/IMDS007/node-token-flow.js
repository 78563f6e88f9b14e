// The same with IMDSv2: the token first, then the header on the request.
const IMDS_BASE = "http://169.254.169.254/latest";

async function instanceId() {
  const tokenResponse = await fetch("http://169.254.169.254/latest/api/token", {
    method: "PUT",
    headers: { "X-aws-ec2-metadata-token-ttl-seconds": "60" },
  });
  const token = (await tokenResponse.text()).trim();
  const res = await fetch("http://169.254.169.254/latest/meta-data/instance-id", {
    headers: { "X-aws-ec2-metadata-token": token },
  });
  return (await res.text()).trim();
}

module.exports = { instanceId, IMDS_BASE };
