# CDK Python props that are not literals: a variable, and **kwargs that may set the properties
# (a LaunchTemplate's tokens and hop limit: two findings).
from aws_cdk import aws_ec2 as ec2


def worker(scope, vpc, strict: bool, **overrides):
    ec2.Instance(
        scope,
        "Worker",
        vpc=vpc,
        require_imdsv2=strict,  # imds-expect: IMDS004@24
    )
    ec2.LaunchTemplate(
        scope,
        "Template",
        **overrides,  # imds-expect: IMDS004@9, IMDS004@9
    )
    ec2.LaunchTemplate(scope, "Literal", require_imdsv2=True)
