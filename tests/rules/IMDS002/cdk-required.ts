// CDK constructs that require IMDSv2: requireImdsv2, httpTokens REQUIRED, a launch template an
// Auto Scaling group is given, and an aspect on the stack (it covers the Instances of this class).
import { Aspects, Stack, StackProps } from 'aws-cdk-lib';
import { AutoScalingGroup } from 'aws-cdk-lib/aws-autoscaling';
import {
  Instance,
  InstanceRequireImdsv2Aspect,
  InstanceType,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
  MachineImage,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export class SecureStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    Aspects.of(this).add(new InstanceRequireImdsv2Aspect());
    const vpc = Vpc.fromLookup(this, 'Vpc', { isDefault: true });

    new Instance(this, 'Covered', {
      vpc,
      instanceType: new InstanceType('t3.micro'),
      machineImage: MachineImage.latestAmazonLinux2023(),
    });

    const template = new LaunchTemplate(this, 'Template', {
      machineImage: MachineImage.latestAmazonLinux2023(),
      requireImdsv2: true,
    });
    new AutoScalingGroup(this, 'Fleet', { vpc, launchTemplate: template });

    new LaunchTemplate(this, 'Tokens', { httpTokens: LaunchTemplateHttpTokens.REQUIRED });
  }
}
