# CDK constructs in Python: keyword arguments; the finding is at False, or at the construct
# when require_imdsv2 is left out.
from aws_cdk import Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from constructs import Construct


class FleetStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc.from_lookup(self, "Vpc", is_default=True)

        ec2.Instance(  # imds-expect: IMDS002@9
            self,
            "Bastion",
            vpc=vpc,
            instance_type=ec2.InstanceType("t3.micro"),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
        )

        ec2.LaunchTemplate(
            self,
            "Legacy",
            require_imdsv2=False,  # imds-expect: IMDS002@28
        )

        ec2.LaunchTemplate(
            self,
            "Tokens",
            http_tokens=ec2.LaunchTemplateHttpTokens.OPTIONAL,  # imds-expect: IMDS002@25
        )

        autoscaling.AutoScalingGroup(  # imds-expect: IMDS002@9
            self,
            "Fleet",
            vpc=vpc,
            instance_type=ec2.InstanceType("t3.small"),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
        )
