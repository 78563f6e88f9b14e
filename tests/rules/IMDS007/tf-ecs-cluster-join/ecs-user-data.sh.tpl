#!/bin/bash
exec > >(tee /var/log/user-data.log | logger -t user-data -s 2>/dev/console) 2>&1
{
  echo "ECS_CLUSTER=${cluster_name}"
  echo "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"
  echo "ECS_ENABLE_TASK_IAM_ROLE=true"
} >> /etc/ecs/ecs.config
