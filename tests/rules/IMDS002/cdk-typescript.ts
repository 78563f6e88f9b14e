// CDK constructs in TypeScript: the finding is at the literal that allows IMDSv1, or at the
// construct (`new ec2.Instance`) when its props leave requireImdsv2 out (CDK then writes no
// metadata options and EC2's default allows IMDSv1).
import * as cdk from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export class FleetStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const vpc = ec2.Vpc.fromLookup(this, 'Vpc', { isDefault: true });

    new ec2.Instance(this, 'Bastion', { // imds-expect: IMDS002@5
      vpc,
      instanceType: new ec2.InstanceType('t3.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    });

    new ec2.Instance(this, 'Jump', {
      vpc,
      instanceType: new ec2.InstanceType('t3.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      requireImdsv2: false, // imds-expect: IMDS002@22
    });

    new ec2.LaunchTemplate(this, 'Legacy', {
      httpTokens: ec2.LaunchTemplateHttpTokens.OPTIONAL, // imds-expect: IMDS002@19
    });

    new ec2.LaunchTemplate(this, 'Defaults'); // imds-expect: IMDS002@5

    new autoscaling.AutoScalingGroup(this, 'Fleet', { // imds-expect: IMDS002@5
      vpc,
      instanceType: new ec2.InstanceType('t3.small'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    });

    // IMDS off entirely: nothing to require
    new ec2.LaunchTemplate(this, 'NoMetadata', { httpEndpoint: false });
  }
}
