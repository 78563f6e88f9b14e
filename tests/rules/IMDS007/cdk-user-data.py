# The commands a CDK app adds to an instance's user data run on the instance.
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct


class AgentStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc.from_lookup(self, "Vpc", is_default=True)

        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            "yum install -y amazon-cloudwatch-agent",
            "curl -s http://169.254.169.254/latest/meta-data/ami-id",  # imds-expect: IMDS007@14
        )
        ec2.Instance(
            self,
            "Agent",
            vpc=vpc,
            instance_type=ec2.InstanceType("t3.micro"),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            user_data=user_data,
            require_imdsv2=True,
        )
