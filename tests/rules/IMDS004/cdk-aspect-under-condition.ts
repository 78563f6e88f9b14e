// An aspect added only when a stack prop says so requires tokens only then.
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface BastionStackProps extends cdk.StackProps {
  readonly strict: boolean;
}

export class BastionStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: BastionStackProps) {
    super(scope, id, props);
    const vpc = ec2.Vpc.fromLookup(this, 'Vpc', { isDefault: true });

    if (props.strict) {
      cdk.Aspects.of(this).add(new ec2.InstanceRequireImdsv2Aspect()); // imds-expect: IMDS004@7
    }

    new ec2.Instance(this, 'Bastion', {
      vpc,
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    });
    new ec2.Instance(this, 'Pinned', {
      vpc,
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      requireImdsv2: true,
    });
  }
}
