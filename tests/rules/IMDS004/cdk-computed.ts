// CDK props that are not literals: the value is reported, not guessed.
import * as cdk from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface WorkerStackProps extends cdk.StackProps {
  readonly strict: boolean;
  readonly instanceProps: ec2.InstanceProps;
}

export class WorkerStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: WorkerStackProps) {
    super(scope, id, props);

    new ec2.Instance(this, 'FromFlag', {
      vpc: props.instanceProps.vpc,
      instanceType: props.instanceProps.instanceType,
      machineImage: props.instanceProps.machineImage,
      requireImdsv2: props.strict, // imds-expect: IMDS004@22
    });

    new ec2.Instance(this, 'FromProps', props.instanceProps); // imds-expect: IMDS004@41

    const imported = ec2.LaunchTemplate.fromLaunchTemplateAttributes(this, 'Shared', {
      launchTemplateName: 'shared-workers',
    });
    new autoscaling.AutoScalingGroup(this, 'Workers', {
      vpc: props.instanceProps.vpc,
      launchTemplate: imported, // imds-expect: IMDS004@23
    });
  }
}
